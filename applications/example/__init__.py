"""Examples: hello, the MVC pokemon list, a form/session/cookie demo, a plot and a JSON API."""
