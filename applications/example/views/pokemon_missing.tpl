% extends('index/base')
{% block title %}Pokemon · Kokoropy{% endblock %}
{% block content %}
% include('_nav')
<h1>Pokemon</h1>
<div class="alert alert-warning">
  <p><strong>The pokemon table does not exist yet.</strong> Create it (with a few pokemon) by
  running the example application's migration in the project folder:</p>
  <pre><code>python rossian.py migration-upgrade</code></pre>
  <p>then reload this page.</p>
</div>
{% endblock %}
