% extends('index/base')
{% block title %}Hello · Kokoropy{% endblock %}
{% block content %}
% include('_nav')
<div class="card">
  <h1>Hello, {{name}}!</h1>
  <p>This page is <code>/example/hello/&lt;name&gt;</code>: the last part of the URL becomes the
  handler's <code>name</code> argument, and the view escapes it.</p>
  <form class="search" method="get" action="{{url('example.hello')}}">
    <input type="text" name="name" aria-label="Your name" placeholder="Your name">
    <button type="submit" class="button-primary">Greet</button>
  </form>
  <p class="help">Or try <a href="{{url('example.hello_name', name='Kokoro')}}">/example/hello/Kokoro</a>.</p>
</div>
{% endblock %}
