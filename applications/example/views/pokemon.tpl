% extends('index/base')
{% block title %}Pokemon · Kokoropy{% endblock %}
{% block content %}
% include('_nav')
<div class="page-header">
  <h1>Pokemon</h1>
  <p class="lead">Model <code>models/pokemon.py</code>, controller <code>controllers/pokemon.py</code>,
  view <code>views/pokemon.tpl</code>, table created by <code>migrations/0001_create_pokemon.py</code>.</p>
</div>
<div class="toolbar">
% if search:
  <span>Names containing <strong>{{search}}</strong>: {{len(pokemon)}} found.
  <a href="{{url('example.pokemon.index')}}">Show all</a></span>
% else:
  <span>{{len(pokemon)}} pokemon.</span>
% end
  <form class="search" method="get" action="{{url('example.pokemon.index')}}">
    <input type="search" name="search" value="{{search}}" aria-label="Search by name" placeholder="Search by name">
    <button type="submit">Search</button>
  </form>
</div>
% if pokemon:
<div class="table-wrap">
  <table class="table">
    <thead><tr><th>Picture</th><th>Name</th><th>Type</th><th class="numeric">Id</th></tr></thead>
    <tbody>
%   for monster in pokemon:
      <tr>
        <td><img class="sprite" src="{{url('example.assets', path='images/' + monster.image)}}" alt="{{monster.name}}" width="48" height="48"></td>
        <td>{{monster.name}}</td>
        <td><span class="badge">{{monster.type}}</span></td>
        <td class="numeric"><a href="{{url('example.api_pokemon_one', id=monster.id)}}">{{monster.id}}</a></td>
      </tr>
%   end
    </tbody>
  </table>
</div>
% else:
<div class="card empty">No pokemon found.</div>
% end
<p class="help">The same data as JSON: <a href="{{url('example.api_pokemon')}}">/example/api/pokemon</a>.</p>
{% endblock %}
