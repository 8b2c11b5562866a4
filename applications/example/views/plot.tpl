% extends('index/base')
{% block title %}Plot · Kokoropy{% endblock %}
{% block content %}
% include('_nav')
<h1>Plot</h1>
% if has_matplotlib:
<figure class="figure">
  <img src="{{url('example.plot_png')}}" alt="Two sine waves drawn by matplotlib" width="600" height="350">
  <figcaption>Drawn by matplotlib (Agg backend) in <code>controllers/demos.py</code> and sent as PNG.</figcaption>
</figure>
% else:
<div class="alert alert-info">
  <p><strong>matplotlib is not installed.</strong> This demo draws a chart with it; Kokoropy
  itself does not need it. Install it with:</p>
  <pre><code>pip install matplotlib</code></pre>
  <p>then reload this page.</p>
</div>
% end
{% endblock %}
