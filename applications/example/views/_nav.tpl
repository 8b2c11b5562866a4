<nav class="toolbar" aria-label="Examples">
  <div class="button-group">
    <a class="button button-small" href="{{url('example.index')}}">All examples</a>
    <a class="button button-small" href="{{url('example.hello')}}">Hello</a>
    <a class="button button-small" href="{{url('example.pokemon.index')}}">Pokemon (MVC)</a>
    <a class="button button-small" href="{{url('example.session')}}">Forms, session &amp; cookies</a>
    <a class="button button-small" href="{{url('example.plot')}}">Plot</a>
    <a class="button button-small" href="{{url('example.api')}}">JSON API</a>
  </div>
</nav>
