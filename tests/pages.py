"""Read the forms of a served page as a browser sees them, to fill and send them."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any


@dataclass
class Form:
    action: str
    fields: dict[str, list[str]] = field(default_factory=dict)  # as the page sets them
    options: dict[str, list[str]] = field(default_factory=dict)  # of radios and checkboxes

    def answered(self) -> dict[str, list[str]]:
        """Return the fields with each unanswered choice given its first option."""
        return {name: values or self.options.get(name, [])[:1]
                for name, values in self.fields.items()}

    def filled(self, **values: Any) -> dict[str, Any]:
        """Return the answered fields with some of them changed, as a person fills them in."""
        return {**self.answered(), **values}


class Forms(HTMLParser):
    """Collect the POST forms of a page, each with its fields' values as the page sets them."""

    def __init__(self, page_path: str) -> None:
        super().__init__()
        self.page_path = page_path
        self.forms: list[Form] = []
        self._form: Form | None = None  # the POST form being read
        self._select: list[str] | None = None  # the values of the <select> being read

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = Form(a.get("action") or self.page_path) \
                if a.get("method", "").lower() == "post" else None
            if self._form:
                self.forms.append(self._form)
        elif self._form is None:
            return
        elif tag in ("input", "textarea", "select") and a.get("name"):
            values = self._form.fields.setdefault(a["name"], [])
            if tag == "select":
                self._select = values
            elif a.get("type") in ("checkbox", "radio"):
                self._form.options.setdefault(a["name"], []).append(a.get("value", "on"))
                if "checked" in a:
                    values.append(a.get("value", "on"))
            elif a.get("type") != "submit":
                values.append(a.get("value", ""))
        elif tag == "button" and a.get("formaction"):  # a form of several buttons
            fields = {**self._form.fields, **({a["name"]: [a.get("value", "")]}
                                               if a.get("name") else {})}
            self.forms.append(Form(a["formaction"], fields, self._form.options))
            self._form.action = ""  # the buttons say where it goes
        elif tag == "option" and self._select is not None:
            if "selected" in a or not self._select:  # the chosen option, else the first
                self._select[:] = [a.get("value", "")]

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "form":
            self._form = None


def forms_on(browser: Any, path: str) -> list[Form]:
    """Return the POST forms of the page at ``path``, as ``browser`` gets it."""
    status, page = browser.request("GET", path)
    assert status == 200, (path, status)
    parser = Forms(path)
    parser.feed(page)
    return [form for form in parser.forms if form.action]
