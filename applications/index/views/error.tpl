% extends('index/base')
{% block title %}{{title}} · Kokoropy{% endblock %}
{% block content %}
<div class="page-header">
  <h1>{{title}}</h1>
  <p class="lead">{{message}}</p>
</div>
% for label, application in pending:
<div class="alert alert-warning">The migration <code>{{label}}</code> is not applied yet: run
  <code>python rossian.py migration-upgrade {{application}}</code>.</div>
% end
<p><a class="button button-primary" href="{{url('index.home')}}">Go to the home page</a></p>
% if traceback_text:
<pre class="traceback">{{traceback_text}}</pre>
% end
{% endblock %}
