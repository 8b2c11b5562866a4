import collections
import datetime
import os
import uuid
from urllib.parse import quote, urlencode

###############################################################################
# 10. Model forms and tables
# Form (and its BoundFields), Table and render_detail: HTML forms, sortable paginated lists and
# detail pages built from a Model's fields, rendered through the template engine from views an
# application may override (views/kokoropy/form.tpl ...). Uses the ORM, templates, CSRF, request.
###############################################################################

__all__ += ['Form', 'BoundField', 'Table', 'render_detail']

# Used when an Upload field lists no `allowed` extensions. Never svg or html: a browser runs the
# scripts inside those when the site serves them from its own origin (stored XSS).
DEFAULT_UPLOAD_EXTENSIONS = ('png', 'jpg', 'jpeg', 'gif', 'webp', 'pdf', 'txt', 'csv')
IMAGE_EXTENSIONS = frozenset(['png', 'jpg', 'jpeg', 'gif', 'webp'])
UPLOADS_FOLDER = 'uploads'          # under the application's assets/
TABLE_TEXT_LIMIT = 60               # longer texts are cut in table cells (whole on the detail)
HIDDEN_PASSWORD = '••••••'
# The class of a table cell or detail value of each display kind (see _display); the
# stylesheet (index/assets/css/kokoropy.css) styles them. Plain text has none.
CELL_CLASSES = {'number': 'numeric', 'long': 'cell-long', 'date': 'cell-date',
                'boolean': 'cell-boolean', 'image': 'cell-image', 'file': 'cell-file'}

# One table cell: `text` (an image's alt text), `href` (the link or image URL, or None),
# `kind` (a display kind, see _display) and `label` (its column's label, shown on phones).
_TableCell = collections.namedtuple('TableCell', 'text href kind label')


class BoundField:
    """One field of a Form: label, widget, value and error; str() renders the whole row.

    Rendered through the views `kokoropy/field` (the row), `kokoropy/label` and
    `kokoropy/widget`, which an application may override.
    """

    def __init__(self, form, name, field):
        self.form = form
        self.name = name
        self.field = field
        self.kind = _widget_kind(field)
        self.id = 'field-' + name
        self.error_id = self.id + '-error'
        self.help_id = self.id + '-help'

    @property
    def label(self):
        """The label text (the field's `label` option, else its name made readable)."""
        return self.field.label

    @property
    def help_text(self):
        """The field's `help_text` option, or None."""
        return getattr(self.field, 'help_text', None)

    @property
    def error(self):
        """The validation message for this field, or None."""
        return self.form.errors.get(self.name)

    @property
    def value(self):
        """The text the widget shows: what the user submitted, else the stored value. A
        password is never shown."""
        if self.kind == 'password':
            return ''
        if self.name in self.form.raw:
            return self.form.raw[self.name]
        return _input_text(self.form._stored_value(self.field))

    @property
    def is_required(self):
        """True when the browser must insist on a value (the `required` attribute)."""
        if not self.field.required or self.kind == 'checkbox':
            return False
        if self.kind in ('password', 'file'):
            # Left blank on an edit, these keep the stored hash or file.
            return not self.form._stored_value(self.field)
        return True

    @property
    def html_label(self):
        """Markup of the <label>, tied to the widget by `for`."""
        return _render_view('kokoropy/label', field=self, label=self.label, field_id=self.id,
                            is_required=self.is_required)

    @property
    def widget(self):
        """Markup of the field's input, textarea or select."""
        current_file = None
        if self.kind == 'file':
            current_file = _current_file(self.form._stored_value(self.field))
        options = self._options() if self.kind == 'select' else []
        return _render_view('kokoropy/widget', field=self, kind=self.kind, value=self.value,
                            attributes=_html_attributes(self._attributes()), options=options,
                            current_file=current_file)

    def render(self):
        """Markup of the whole row: label, widget, help text and error message."""
        return _render_view('kokoropy/field', field=self, kind=self.kind, label=self.html_label,
                            widget=self.widget, help_text=self.help_text, help_id=self.help_id,
                            error=self.error, error_id=self.error_id)

    __html__ = render

    def __str__(self):
        return str(self.render())

    def _attributes(self):
        """(name, value) pairs of the widget's attributes: None and False leave one out."""
        kind, value = self.kind, self.value
        pairs = [('type', kind if kind not in ('textarea', 'select') else None),
                 ('id', self.id), ('name', self.name)]
        if kind == 'checkbox':
            pairs += [('value', '1'), ('checked', _is_checked(value))]
        elif kind not in ('textarea', 'select', 'file', 'password'):
            pairs.append(('value', value))
        pairs += _constraint_attributes(self.field, kind, value)
        pairs.append(('required', self.is_required))
        described_by = [self.help_id] if self.help_text else []
        if self.error:
            pairs.append(('aria-invalid', 'true'))
            described_by.append(self.error_id)
        pairs.append(('aria-describedby', ' '.join(described_by) or None))
        return pairs

    def _options(self):
        """(value, text, is_selected) triples; an empty first option when it may be blank
        (or has no value yet, so that the browser does not quietly pick the first row)."""
        current = self.value
        options = [(str(value), text, str(value) == current)
                   for value, text in _select_choices(self.field)]
        if not self.is_required or not any(selected for _, _, selected in options):
            options.insert(0, ('', '', current == ''))
        return options


class Form:
    """An HTML form editing a Model: a new row (give the class) or an existing one (an instance).

        form = Form(Product, request.forms, request.files)   # bound to a submission
        if form.is_valid():
            product = form.save()
        return page(form.render())

    `is_valid()` converts the submitted text with each field's to_python() and validates the
    instance; `errors` maps field names to messages; `save()` stores the uploads and the row;
    `render()` gives the whole <form> with the user's input kept (passwords excepted), each
    message beside its field and the CSRF input. `fields` / `exclude` choose and order the
    fields (default: every editable one; `fields=[]` leaves only the button, e.g. to confirm a
    delete). `submit_style` is the button's look ('primary', or 'danger' to confirm a delete);
    `cancel_url` adds a Cancel link beside it. `form['name']` is a BoundField. Uploads are
    saved under the current application's assets/uploads/ with a random name and stored as
    'uploads/<name>' (served at /<app>/assets/uploads/<name>); only the field's `allowed`
    extensions are taken.
    """

    def __init__(self, model_or_instance, data=None, files=None, fields=None, exclude=None,
                 action='', method='post', submit_label=None, submit_style='primary',
                 cancel_url=None):
        if isinstance(model_or_instance, type):
            self.model, self.instance = model_or_instance, model_or_instance()
        else:
            self.model, self.instance = type(model_or_instance), model_or_instance
        self.data = data
        self.files = files
        self.action = action
        self.method = method.lower()
        self.submit_label = submit_label or ('Save' if _is_saved(self.instance) else 'Create')
        self.submit_style, self.cancel_url = submit_style, cancel_url
        self.fields = _choose_fields(self.model, fields, exclude, _is_editable, editable_only=True)
        self.errors = {}
        self.raw = {}               # field name -> text the user submitted
        self._uploads = {}          # field name -> (FileUpload, stored path, previous path)
        self._is_valid = None

    def __getitem__(self, name):
        if name not in self.fields:
            raise KeyError('%s form has no field %r; it has: %s'
                           % (self.model.__name__, name, ', '.join(self.fields)))
        return BoundField(self, name, self.fields[name])

    def __iter__(self):
        return (self[name] for name in self.fields)

    @property
    def is_bound(self):
        """True when the form was given submitted data to validate."""
        return self.data is not None

    @property
    def is_multipart(self):
        """True when the form has a file input (it is then sent as multipart/form-data)."""
        return any(_widget_kind(field) == 'file' for field in self.fields.values())

    def is_valid(self):
        """Convert and validate the submitted data into the instance; True when there is no
        error. Sets `errors` (also for fields not in the form) and keeps the submitted text for
        re-display. An unbound form is never valid."""
        if self._is_valid is None:
            self._is_valid = self.is_bound and self._bind()
        return self._is_valid

    def save(self):
        """Save the uploaded files, then the instance; return the instance.

        Raises ValidationError when the form is not valid, or when the database refuses the
        row (a duplicate unique value): its messages are then in `errors` as well.
        """
        if not self.is_valid():
            raise ValidationError(dict(self.errors), self.instance)
        written = self._write_uploads()
        try:
            self.instance.save()
        except Exception as exc:
            for path in written:    # a row that was not saved leaves no files behind
                _remove_quietly(path)
            if isinstance(exc, ValidationError):
                self.errors.update(exc.errors)
                self._is_valid = False
            raise
        return self.instance

    def render(self):
        """Markup of the whole <form>: the CSRF input, every field and a submit button."""
        is_post = self.method != 'get'
        return _render_view('kokoropy/form', form=self, fields=list(self), action=self.action,
                            method=self.method, is_multipart=is_post and self.is_multipart,
                            csrf=csrf_input() if is_post else '', errors=self.errors,
                            other_errors=self._other_errors(), submit_label=self.submit_label,
                            submit_style=self.submit_style, cancel_url=self.cancel_url)

    __html__ = render

    def __str__(self):
        return str(self.render())

    def render_fields(self):
        """Markup of the field rows only, for a hand-written <form> around them."""
        return Markup('\n'.join(str(bound.render()) for bound in self))

    def _other_errors(self):
        """(label, message) of errors about fields the form does not show, or the whole row."""
        labels = dict((name, field.label) for name, field in self.model._fields.items())
        return [(labels.get(name, ''), message) for name, message in self.errors.items()
                if name not in self.fields]

    def _bind(self):
        """Set the submitted values on the instance and validate it; True when valid.

        Model.update_from() converts and validates (an unchecked checkbox means False, a blank
        password keeps the stored hash, a field not sent keeps its value); uploads come first
        so that validation sees them."""
        self.errors, self.raw, self._uploads = {}, {}, {}
        uploads = [name for name, field in self.fields.items() if _widget_kind(field) == 'file']
        for name in uploads:
            try:
                self._bind_upload(self.fields[name])
            except ValueError as exc:
                self.errors[name] = str(exc)
        others = [name for name in self.fields if name not in uploads]
        for name, message in self.instance.update_from(self.data, others).items():
            self.errors.setdefault(name, message)
        for name in others:
            field = self.fields[name]
            raw = _submitted_value(self.data, field)
            if raw is not _MISSING and _widget_kind(field) not in ('password', 'checkbox'):
                self.raw[name] = to_str(raw)    # shown again as typed
        return not self.errors

    def _bind_upload(self, field):
        """Check an uploaded file's extension and plan its stored name (save() writes it)."""
        upload = _submitted_value(self.files or {}, field)
        if upload is _MISSING or not getattr(upload, 'filename', ''):
            return None         # no file chosen: keep the current one
        extension = _extension_of(upload.filename)
        allowed = _allowed_extensions(field)
        if extension not in allowed:
            raise ValueError('%s must be a file of type %s.' % (field.label, ', '.join(allowed)))
        stored = '%s/%s.%s' % (UPLOADS_FOLDER, uuid.uuid4().hex, extension)
        self._uploads[field.name] = (upload, stored, getattr(self.instance, field.name))
        setattr(self.instance, field.name, stored)

    def _write_uploads(self):
        """Write the planned uploads under the application's assets folder; return the paths."""
        written = []
        for upload, stored, _ in self._uploads.values():
            path = os.path.join(_assets_folder(), *stored.split('/'))
            os.makedirs(os.path.dirname(path), exist_ok=True)
            upload.save(path)
            written.append(path)
        return written

    def _stored_value(self, field):
        """The instance's value for a field (an upload not yet written does not count)."""
        if field.name in self._uploads:
            return self._uploads[field.name][2]
        return getattr(self.instance, field.column, None)


class Table:
    """A sortable, searchable, paginated HTML table of a query's (or a model's) rows.

    Reads from the request's query string: `page`, `sort` (`name` or `-name`, one of the shown
    fields; anything else is ignored) and `q` (rows where any of `search_fields`, by default the
    shown text fields, contains it). `detail_url`, `edit_url` and `delete_url` are callables
    `f(row) -> url` adding Show, Edit and Delete buttons to each row (`detail_url` also links
    the first column); deleting must be a POST, so `delete_url` should lead to a confirmation
    page whose form sends it. `page` is the ORM Page shown. Cells show values compactly: long
    text cut, images as thumbnails, other files as a short link, booleans as Yes/No. Rendered
    through the view `kokoropy/table`, which an application may override.
    """

    def __init__(self, query_or_model, fields=None, request=None, per_page=20, search_fields=None,
                 detail_url=None, edit_url=None, delete_url=None):
        query = query_or_model.all() if isinstance(query_or_model, type) else query_or_model
        self.model = query.model
        self.fields = _choose_fields(self.model, fields, None, _is_listed)
        self.request = request if request is not None else _request_or_error('Table')
        self.search_fields = list(search_fields if search_fields is not None else
                                  [name for name, field in self.fields.items()
                                   if _widget_kind(field) in ('text', 'textarea', 'email')])
        self.detail_url, self.edit_url, self.delete_url = detail_url, edit_url, delete_url
        params = self.request.query
        self.q = (params.get('q') or '').strip()
        self.sort = _valid_sort(params.get('sort') or '', self.fields)
        self.page = self._paginate(query, _page_number(params.get('page')), per_page)

    def render(self):
        """Markup of the search box, the table (or an empty-state message) and page links."""
        return _render_view('kokoropy/table', table=self, q=self.q, sort=self.sort,
                            columns=self._columns(), rows=self._rows(), pages=self._page_links(),
                            has_actions=bool(self.detail_url or self.edit_url or self.delete_url),
                            is_searchable=bool(self.search_fields), summary=self._summary(),
                            empty_message=self._empty_message(), cell_classes=CELL_CLASSES)

    __html__ = render

    def __str__(self):
        return str(self.render())

    def link(self, **changes):
        """A relative URL ('?q=..&sort=..&page=..') of this list with some parameters changed;
        empty ones are left out."""
        params = [(key, changes.get(key, value))
                  for key, value in (('q', self.q), ('sort', self.sort), ('page', None))]
        return '?' + urlencode([(key, value) for key, value in params if value])

    def _paginate(self, query, number, per_page):
        if self.q and self.search_fields:
            query = query.where_any(**dict((name + '__contains', self.q)
                                           for name in self.search_fields))
        if self.sort:
            query = query.order_by(self.sort)
        page = query.paginate(number, per_page)
        if page.page > page.pages:      # past the end (rows were deleted): show the last page
            page = query.paginate(page.pages, per_page)
        return page

    def _columns(self):
        """(label, sort link, aria-sort value or None, display kind) per shown field: a link
        sorts by the column, or reverses the order when it already does."""
        columns = []
        for name, field in self.fields.items():
            state = {name: 'ascending', '-' + name: 'descending'}.get(self.sort)
            next_sort = '-' + name if state == 'ascending' else name
            columns.append((field.label, self.link(sort=next_sort), state, _display_kind(field)))
        return columns

    def _rows(self):
        """(cells, actions) per row: cells are _TableCell(text, href, kind, label), actions
        (label, href, is_danger). The first cell links to the row's page when it has one."""
        items = self.page.items
        related = _prefetch_related(items, self.fields)
        rows = []
        for row in items:
            cells = []
            for field in self.fields.values():
                kind, text, href = _display(row, field, related, limit=TABLE_TEXT_LIMIT)
                if not cells and self.detail_url and href is None and text:
                    href = self.detail_url(row)
                cells.append(_TableCell(text, href, kind, field.label))
            actions = [(label, make_url(row), label == 'Delete')
                       for label, make_url in (('Show', self.detail_url), ('Edit', self.edit_url),
                                               ('Delete', self.delete_url)) if make_url]
            rows.append((cells, actions))
        return rows

    def _summary(self):
        """Which rows are shown, e.g. '21–25 of 25' ('' when there are none)."""
        page = self.page
        if not page.total:
            return ''
        first = (page.page - 1) * page.per_page + 1
        return '%d–%d of %d' % (first, first + len(page.items) - 1, page.total)

    def _page_links(self):
        """(text, href or None, is_current) for Previous, the page numbers and Next."""
        page = self.page
        if page.pages <= 1:
            return []
        links = [('Previous', self.link(page=page.prev_num) if page.has_prev else None, False)]
        for number in page.iter_pages():
            if number is None:
                links.append(('…', None, False))
            else:
                links.append((str(number), self.link(page=number), number == page.page))
        links.append(('Next', self.link(page=page.next_num) if page.has_next else None, False))
        return links

    def _empty_message(self):
        if self.q:
            return 'Nothing matches “%s”.' % self.q
        return 'There is nothing here yet.'


def render_detail(instance, fields=None):
    """Markup of a list of an instance's fields and values: whole texts, images shown, other
    uploads as links, booleans as Yes/No, related rows by their str(), passwords left out
    (masked when named in `fields`). Rendered through the view `kokoropy/detail`, which an
    application may override; its `rows` are (label, display kind, text, href)."""
    chosen = _choose_fields(type(instance), fields, None, _is_detailed)
    rows = [(field.label,) + _display(instance, field, {}) for field in chosen.values()]
    return _render_view('kokoropy/detail', instance=instance, rows=rows,
                        cell_classes=CELL_CLASSES)


# --- views: an application overrides one with views/kokoropy/<name>.tpl ---------------------

FORM_VIEWS = {
    'kokoropy/form': '''\
<form class="form" method="{{method}}" action="{{action}}"{{!' enctype="multipart/form-data"' if is_multipart else ''}}>
{{csrf}}
% if errors:
<div class="alert alert-error" role="alert">
<p>Please correct the errors below.</p>
% if other_errors:
<ul>
% for label, message in other_errors:
<li>{{message}}</li>
% end
</ul>
% end
</div>
% end
% for field in fields:
{{field}}
% end
<div class="form-actions">
<button type="submit" class="button button-{{submit_style}}">{{submit_label}}</button>
% if cancel_url:
<a class="button" href="{{cancel_url}}">Cancel</a>
% end
</div>
</form>
''',
    'kokoropy/field': '''\
% if kind == 'checkbox':
<div class="field field-inline{{' has-error' if error else ''}}">
{{widget}}
{{label}}
% else:
<div class="field{{' has-error' if error else ''}}">
{{label}}
{{widget}}
% end
% if help_text:
<span class="help" id="{{help_id}}">{{help_text}}</span>
% end
% if error:
<span class="error-message" id="{{error_id}}">{{error}}</span>
% end
</div>
''',
    'kokoropy/label': '''\
<label for="{{field_id}}">{{label}}{{!' <span aria-hidden="true">*</span>' if is_required else ''}}</label>''',
    'kokoropy/widget': '''\
% if kind == 'textarea':
<textarea{{attributes}}>
{{value}}</textarea>
% elif kind == 'select':
<select{{attributes}}>
% for option_value, option_text, is_selected in options:
<option value="{{option_value}}"{{!' selected' if is_selected else ''}}>{{option_text}}</option>
% end
</select>
% else:
% if current_file:
<div class="current-file">
% if current_file[2]:
<a href="{{current_file[0]}}"><img class="thumbnail" src="{{current_file[0]}}" alt=""></a>
% end
<span class="help">Current file: <a href="{{current_file[0]}}">{{current_file[1]}}</a>; choose another to replace it.</span>
</div>
% end
<input{{attributes}}>
% end
''',
    'kokoropy/table': '''\
% if is_searchable or summary:
<div class="toolbar">
% if summary:
<p class="table-summary">{{summary}}</p>
% end
% if is_searchable:
<form class="search" method="get" action="" role="search">
% if sort:
<input type="hidden" name="sort" value="{{sort}}">
% end
<input type="search" name="q" value="{{q}}" aria-label="Search" placeholder="Search">
<button type="submit" class="button">Search</button>
</form>
% end
</div>
% end
% if rows:
<div class="table-wrap">
<table class="table table-list">
<thead>
<tr>
% for label, href, state, kind in columns:
<th scope="col"{{!' class="numeric"' if kind == 'number' else ''}}{{!' aria-sort="%s"' % state if state else ''}}><a href="{{href}}">{{label}}</a></th>
% end
% if has_actions:
<th scope="col" class="table-actions">Actions</th>
% end
</tr>
</thead>
<tbody>
% for cells, actions in rows:
<tr>
% for text, href, kind, label in cells:
% css_class = ' class="%s"' % cell_classes[kind] if kind in cell_classes else ''
% if kind == 'image':
<td{{!css_class}} data-label="{{label}}"><a href="{{href}}"><img class="thumbnail" src="{{href}}" alt="{{text}}" loading="lazy"></a></td>
% elif href:
<td{{!css_class}} data-label="{{label}}"><a href="{{href}}">{{text}}</a></td>
% else:
<td{{!css_class}} data-label="{{label}}">{{text}}</td>
% end
% end
% if has_actions:
<td class="table-actions"><div class="button-group">
% for label, href, is_danger in actions:
<a class="button button-small{{' button-danger' if is_danger else ''}}" href="{{href}}">{{label}}</a>
% end
</div></td>
% end
</tr>
% end
</tbody>
</table>
</div>
% else:
<p class="empty">{{empty_message}}</p>
% end
% if pages:
<nav class="pagination" aria-label="Pages">
% for text, href, is_current in pages:
% if is_current:
<span class="current" aria-current="page">{{text}}</span>
% elif href:
<a href="{{href}}">{{text}}</a>
% else:
<span class="disabled">{{text}}</span>
% end
% end
</nav>
% end
''',
    'kokoropy/detail': '''\
<dl class="detail">
% for label, kind, text, href in rows:
<dt>{{label}}</dt>
% css_class = ' class="%s"' % cell_classes[kind] if kind in cell_classes else ''
% if kind == 'image':
<dd{{!css_class}}><a href="{{href}}"><img class="detail-image" src="{{href}}" alt="{{text}}"></a></dd>
% elif href:
<dd{{!css_class}}><a href="{{href}}">{{text}}</a></dd>
% elif text == '':
<dd class="empty-value">—</dd>
% else:
<dd{{!css_class}}>{{text}}</dd>
% end
% end
</dl>
''',
}

_compiled_views = {}
_view_overrides = {}        # (view, application, applications folder) -> path or None


def _render_view(name, **variables):
    """Render view `name` (e.g. 'kokoropy/form'): the application's own views/<name>.tpl when
    the template lookup finds one, else the built-in source in FORM_VIEWS. Returns Markup."""
    override = _view_override(name)
    if override is not None:
        return Markup(template(override, **variables).rstrip('\n'))
    compiled = _compiled_views.get(name)
    if compiled is None:
        compiled = _compiled_views[name] = SimpleTemplate(source=FORM_VIEWS[name], name=name)
    return Markup(compiled.render(**variables).rstrip('\n'))


def _view_override(name):
    """The template file overriding a built-in view, or None. Found by the template lookup (the
    current application's views first, then index/views); remembered unless templates reload."""
    where, reload = _lookup_cache_key()
    key = (name,) + where
    if key in _view_overrides and not reload:
        return _view_overrides[key]
    try:
        path = _find_template_file(name)
    except TemplateError:
        path = None
    _view_overrides[key] = path
    return path


# --- fields and widgets -----------------------------------------------------------------------

def _choose_fields(model, names, exclude=None, shown_by_default=None, editable_only=False):
    """The model's fields by name, in the order of `names` (default: those passing
    `shown_by_default`, in declaration order), less `exclude`. FieldError for unknown names."""
    all_fields = model._fields
    if names is None:
        names = [name for name, field in all_fields.items() if shown_by_default(field)]
    unknown = [name for name in names if name not in all_fields or
               (editable_only and not all_fields[name].editable)]
    if unknown:
        raise FieldError('%s has no %sfield %s; its fields are: %s' % (
            model.__name__, 'editable ' if editable_only else '', ', '.join(map(repr, unknown)),
            ', '.join(all_fields)))
    excluded = set(exclude or ())
    return dict((name, all_fields[name]) for name in names if name not in excluded)


def _is_editable(field):
    return field.editable


def _is_listed(field):
    """Shown in a Table by default: the editable fields except passwords."""
    return field.editable and not isinstance(field, Password)


def _is_detailed(field):
    """Shown by render_detail() by default: every field (id and times too) except passwords."""
    return not isinstance(field, Password)


def _widget_kind(field):
    """The widget of a field: select for choices, else the field's `input_type` (text,
    textarea, number, checkbox, date, datetime-local, email, password, file, select)."""
    return 'select' if field.choices else field.input_type


def _constraint_attributes(field, kind, value):
    """The maxlength, minlength, min, max, step and accept attributes its declaration implies."""
    if kind in ('text', 'email', 'textarea', 'password'):
        return [('maxlength', getattr(field, 'max_length', None)),
                ('minlength', getattr(field, 'min_length', None))]
    if kind == 'number':
        return [('step', field.step), ('min', getattr(field, 'min_value', None)),
                ('max', getattr(field, 'max_value', None))]
    if kind == 'datetime-local' and len(value) > len('2024-12-31T23:59'):
        return [('step', '1')]      # the default step (60 s) would refuse a value with seconds
    if kind == 'file':
        return [('accept', ','.join('.' + extension
                                    for extension in _allowed_extensions(field)))]
    return []


def _allowed_extensions(field):
    return [extension.lower().lstrip('.')
            for extension in getattr(field, 'allowed', None) or DEFAULT_UPLOAD_EXTENSIONS]


def _select_choices(field):
    """(value, text) pairs of a select: the related model's rows for a ForeignKey."""
    if field.choices:
        return field.choices
    return [(row.id, str(row)) for row in field.related_model.all()]


def _input_text(value):
    """The text an input shows for a stored Python value."""
    if value is None:
        return ''
    if isinstance(value, bool):
        return '1' if value else ''
    if isinstance(value, datetime.datetime):
        # datetime-local takes no time zone; seconds only when there are some.
        return value.strftime('%Y-%m-%dT%H:%M:%S' if value.second else '%Y-%m-%dT%H:%M')
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def _is_checked(raw):
    return raw is not None and str(raw).strip().lower() not in ('', '0', 'false', 'off', 'no')


def _is_saved(instance):
    return getattr(instance, 'id', None) is not None


def _html_attributes(pairs):
    """Markup of ' name="value"' for each pair: True gives a bare attribute, None and False
    none; values are escaped."""
    text = ''
    for name, value in pairs:
        if value is True:
            text += ' ' + name
        elif value is not None and value is not False:
            text += ' %s="%s"' % (name, html_escape(value))
    return Markup(text)


# --- showing values -------------------------------------------------------------------------

def _display(row, field, related, limit=None):
    """(kind, text, href) showing a row's value. The display kind is one of 'text', 'long'
    (a textarea's text), 'number', 'boolean', 'date', 'image' (text is its alt text, href its
    URL) and 'file' (a link). Texts longer than `limit` are cut. `related` maps ForeignKey
    names to {id: row} loaded beforehand (see _prefetch_related)."""
    kind = _display_kind(field)
    value = getattr(row, field.column, None)
    if _widget_kind(field) == 'password':
        return ('text', HIDDEN_PASSWORD if value else '', None)
    if value is None or value == '':
        return (kind, '', None)
    if kind == 'file':
        return _file_display(value, '%s of %s' % (field.label, row))
    if kind == 'boolean':
        return (kind, 'Yes' if value else 'No', None)
    if isinstance(field, ForeignKey):
        target = related.get(field.name, {}).get(value) or getattr(row, field.name, None)
        text = str(target) if target is not None else '#%s' % value
    elif field.choices:
        text = str(dict(field.choices).get(value, value))
    elif isinstance(value, datetime.datetime):
        text = value.strftime('%Y-%m-%d %H:%M')
    else:
        text = str(value)
    if limit and len(text) > limit:
        text = text[:limit - 1].rstrip() + '…'
    return (kind, text, None)


def _display_kind(field):
    """How a field's values are shown: see _display()."""
    kind = _widget_kind(field)
    if kind == 'file':
        return 'file'       # 'image' is decided per value, by its extension
    return {'textarea': 'long', 'number': 'number', 'checkbox': 'boolean', 'date': 'date',
            'datetime-local': 'date'}.get(kind, 'text')


def _file_display(stored, image_alt):
    """(kind, text, href) of a stored upload: an image (its alt text) or a short file link."""
    url = _stored_file_url(stored)
    if url is None:
        return ('text', str(stored), None)
    if _is_image(stored):
        return ('image', image_alt, url)
    return ('file', _file_kind_text(stored), url)


def _current_file(stored):
    """(url, short text, is_image) of the file an upload field holds now, or None."""
    url = _stored_file_url(stored)
    if url is None:
        return None
    return url, _file_kind_text(stored), _is_image(stored)


def _file_kind_text(stored):
    """A short name for a stored file: its uploaded name was replaced by a random one, so
    only its type says anything ('PDF file')."""
    extension = _extension_of(stored)
    return '%s file' % extension.upper() if extension else 'File'


def _is_image(stored):
    return _extension_of(stored) in IMAGE_EXTENSIONS


def _extension_of(filename):
    """'photos/Cat.JPG' -> 'jpg'; '' without one."""
    return os.path.splitext(str(filename))[1].lower().lstrip('.')


def _stored_file_url(stored):
    """The URL of a stored upload, served at /<app>/assets/<stored>; None when there is no
    file or no current application to serve it."""
    current = _request_in_thread()
    app_name = current.app_name if current is not None else None
    if not stored or not app_name:
        return None
    return '%s/%s/assets/%s' % (current.script_name, quote(app_name), quote(str(stored)))


def _prefetch_related(rows, fields):
    """{ForeignKey name: {id: related row}} for the rows, one query per ForeignKey (instead of
    one per row and column)."""
    related = {}
    for name, field in fields.items():
        if isinstance(field, ForeignKey):
            ids = set(getattr(row, field.column, None) for row in rows) - set([None])
            query = field.related_model.where(id__in=sorted(ids)).with_trashed()
            related[name] = dict((target.id, target) for target in query) if ids else {}
    return related


# --- requests and files -----------------------------------------------------------------------

def _valid_sort(sort, fields):
    """The sort parameter when it names a shown field ('name' or '-name'), else ''."""
    return sort if sort.lstrip('-') in fields and sort.count('-') <= 1 else ''


def _page_number(text):
    try:
        return max(1, int(text))
    except (TypeError, ValueError):
        return 1


def _request_or_error(what):
    current = _request_in_thread()
    if current is None:
        raise RuntimeError('%s reads page, sort and q from the request: use it while handling '
                           'one, or pass request=' % what)
    return current


def _assets_folder():
    """The assets folder of the application serving the current request."""
    current = _request_in_thread()
    app_name = current.app_name if current is not None else None
    if not app_name:
        raise RuntimeError('a Form saves uploads in the assets/ folder of the application '
                           'serving the request; this route belongs to no application '
                           '(register it with app_name=...)')
    return os.path.join(_applications_folder(current.app.config), app_name, 'assets')


def _remove_quietly(path):
    try:
        os.remove(path)
    except OSError:
        pass
