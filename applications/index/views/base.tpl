% page_title = '%s · Kokoropy' % title if get('title') else 'Kokoropy'
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{% block title %}{{page_title}}{% endblock %}</title>
<link rel="icon" type="image/svg+xml" href="{{url('index.assets', path='images/kokoropy.svg')}}">
<link rel="stylesheet" href="{{url('index.assets', path='css/kokoropy.css')}}">
{% block head %}{% endblock %}
</head>
<body>
<header class="site-header">
  <div class="container">
    <a class="site-brand" href="{{url('index.home')}}"><img src="{{url('index.assets', path='images/kokoropy.svg')}}" alt="" width="32" height="32"> Kokoropy</a>
    <nav class="site-nav" aria-label="Main">
      <ul>
        <li><a href="{{url('index.home')}}"{{!' class="active"' if request.app_name == 'index' else ''}}>Home</a></li>
% # An application is the current one under /<name> only: a page it serves elsewhere
% # (the cms's /page/<slug>) is marked by its own menu item.
% section = request.path.split('/')[1]
% for application in installed_applications():
        <li><a href="{{request.script_name}}/{{application}}"{{!' class="active"' if request.app_name == application == section else ''}}>{{application_title(application)}}</a></li>
% end
% for view_name in menu_views():
%   include(view_name)
% end
      </ul>
    </nav>
  </div>
</header>
<main class="site-main">
  <div class="container">
% messages = get_flashed_messages(with_categories=True)
% if messages:
    <div class="flashes" role="status">
%   for category, message in messages:
      <div class="alert alert-{{category}}">{{message}}</div>
%   end
    </div>
% end
{% block content %}{{!get('base', '')}}{% endblock %}
  </div>
</main>
<footer class="site-footer">
  <div class="container">
    {% block footer %}Made with Kokoropy, a web framework in one Python file that needs nothing but the standard library.{% endblock %}
  </div>
</footer>
</body>
</html>
