% extends('index/base')
{% block title %}Kokoropy: a full-stack web framework in one file{% endblock %}
{% block content %}
<div class="page-header">
  <h1>Welcome to Kokoropy</h1>
  <p class="lead">A full-stack MVC web framework in one Python file: routing, templates,
  sessions, an ORM with migrations and a threaded HTTP server, using only the standard library.</p>
</div>

<div class="card-grid">
% for application in installed_applications():
  <div class="card">
    <h2 class="card-title">{{application_title(application)}}</h2>
    <p class="muted">Application in <code>applications/{{application}}/</code></p>
    <a class="button button-primary" href="{{request.script_name}}/{{application}}">Open</a>
  </div>
% end
</div>

<h2>Getting started</h2>
<div class="card">
  <p>This site answers at <a href="{{url('index.home')}}">{{base_url()}}</a>; start it with:</p>
  <pre><code>python rossian.py start</code></pre>
  <p>Every command of the command line, and a complete CRUD of your own in two commands:</p>
  <pre><code>python rossian.py help
python rossian.py scaffold-crud shop product name:string price:float
python rossian.py migration-upgrade</code></pre>
  <p>The first start creates the database and applies the bundled applications' migrations;
    <code>migration-upgrade</code> applies the ones you add.</p>
  <p>Run the framework's tests:</p>
  <pre><code>python -m unittest discover -s tests</code></pre>
</div>

<h2>Where things live</h2>
<div class="table-wrap">
  <table class="table">
    <thead><tr><th>Path</th><th>What it holds</th></tr></thead>
    <tbody>
      <tr><td><code>applications/&lt;app&gt;/routes.py</code></td><td>URLs, hooks and error pages of the application</td></tr>
      <tr><td><code>applications/&lt;app&gt;/controllers/</code></td><td>Handlers, and <code>Autoroute_Controller</code> classes published by method name</td></tr>
      <tr><td><code>applications/&lt;app&gt;/models/</code></td><td><code>Model</code> classes</td></tr>
      <tr><td><code>applications/&lt;app&gt;/views/</code></td><td>Templates (<code>.tpl</code>) extending <code>index/base</code></td></tr>
      <tr><td><code>applications/&lt;app&gt;/assets/</code></td><td>Static files, served at <code>/&lt;app&gt;/assets/</code></td></tr>
      <tr><td><code>applications/&lt;app&gt;/migrations/</code></td><td>Schema changes, applied by <code>python rossian.py migration-upgrade</code></td></tr>
      <tr><td><code>applications/config.py</code></td><td>Settings (also from <code>KOKOROPY_*</code> environment variables)</td></tr>
    </tbody>
  </table>
</div>
{% endblock %}
