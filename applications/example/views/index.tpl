% extends('index/base')
{% block title %}Examples · Kokoropy{% endblock %}
{% block content %}
<div class="page-header">
  <h1>Examples</h1>
  <p class="lead">Small demos of what an application can do. Their code is in
  <code>applications/example/</code>.</p>
</div>
<div class="card-grid">
  <div class="card">
    <h2 class="card-title">Hello</h2>
    <p>A route with and without a URL parameter, rendered through a view.</p>
    <ul class="links">
      <li><a href="{{url('example.hello')}}">/example/hello</a></li>
      <li><a href="{{url('example.hello_name', name='Kokoro')}}">/example/hello/Kokoro</a></li>
    </ul>
  </div>
  <div class="card">
    <h2 class="card-title">Pokemon (MVC)</h2>
    <p>A model, an <code>Autoroute_Controller</code>, a view and a migration with seed data.</p>
    <ul class="links">
      <li><a href="{{url('example.pokemon.index')}}">/example/pokemon</a></li>
      <li><a href="{{url('example.pokemon.index')}}/char">/example/pokemon/char</a></li>
    </ul>
  </div>
  <div class="card">
    <h2 class="card-title">Forms, session and cookies</h2>
    <p>A visit counter in the session, a signed cookie and a flash message after a POST
    protected by a CSRF token.</p>
    <ul class="links"><li><a href="{{url('example.session')}}">/example/session</a></li></ul>
  </div>
  <div class="card">
    <h2 class="card-title">Plot</h2>
    <p>A PNG chart drawn by matplotlib, when it is installed.</p>
    <ul class="links"><li><a href="{{url('example.plot')}}">/example/plot</a></li></ul>
  </div>
  <div class="card">
    <h2 class="card-title">JSON API</h2>
    <p>Handlers returning dicts and lists are sent as JSON.</p>
    <ul class="links">
      <li><a href="{{url('example.api')}}">/example/api</a></li>
      <li><a href="{{url('example.api_pokemon')}}">/example/api/pokemon</a></li>
      <li><a href="{{url('example.api_hello', name='Kokoro')}}">/example/api/hello/Kokoro</a></li>
    </ul>
  </div>
</div>
{% endblock %}
