% extends('index/base')
{% block title %}Forms, session and cookies · Kokoropy{% endblock %}
{% block content %}
% include('_nav')
<div class="page-header">
  <h1>Forms, session and cookies</h1>
  <p class="lead">The session is a dict kept in a signed cookie; flash messages live in it until
  shown; the form carries a CSRF token.</p>
</div>
<div class="card-grid">
  <div class="card">
    <h2 class="card-title">Session counter</h2>
    <p>You have seen this page <strong>{{visits}}</strong> time{{'' if visits == 1 else 's'}} in
    this session (<code>request.session['visits']</code>).</p>
    <form method="post" action="{{url('example.session_reset')}}">
      {{!csrf_input()}}
      <button type="submit" class="button-danger">Reset counter and cookie</button>
    </form>
  </div>
  <div class="card">
    <h2 class="card-title">Signed cookie</h2>
% if visitor:
    <p>The cookie <code>example_visitor</code> says your name is <strong>{{visitor}}</strong>.</p>
% else:
    <p>No name yet: send the form to store one in a signed cookie.</p>
% end
    <form class="form" method="post" action="{{url('example.session')}}">
      {{!csrf_input()}}
      <div class="field">
        <label for="name">Your name</label>
        <input type="text" id="name" name="name" maxlength="40" value="{{visitor or ''}}">
        <span class="help">Kept for 30 days; a changed cookie is ignored.</span>
      </div>
      <div class="form-actions">
        <button type="submit" class="button-primary">Save</button>
      </div>
    </form>
  </div>
</div>
{% endblock %}
