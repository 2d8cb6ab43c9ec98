"""JQL for the simulator: a tokenizer, a recursive-descent parser and a compiler to Python predicates.

The subset: clauses `field OP value` with =, !=, ~, !~, <, <=, >, >=, IN, NOT IN, IS, IS NOT;
AND / OR / NOT (also &&, ||, !), parentheses, quoted strings, EMPTY / NULL, functions, ORDER BY.
Anything outside it is a JqlError carrying Jira's wording, never a silent match-all.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

SYNTAX_PREFIX = "Error in the JQL Query: "
OPERATORS_HINT = (
    "The valid operators are '=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', 'IS' and 'IS NOT'."
)
# Jira refuses these unquoted as values or field names; a subset of its reserved list.
RESERVED = frozenset(
    {"and", "or", "not", "in", "is", "empty", "null", "order", "by", "asc", "desc", "was", "changed"}
)
_WORD_BREAK = set(" \t\r\n=!<>~(),\"'&|")


class JqlError(Exception):
    """A JQL query Jira would refuse; `message` is the text Jira puts in errorMessages."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _syntax(text: str, query: str, pos: int) -> JqlError:
    line = query.count("\n", 0, pos) + 1
    column = pos - (query.rfind("\n", 0, pos) + 1) + 1
    return JqlError(f"{SYNTAX_PREFIX}{text} (line {line}, character {column})")


# --- tokens -----------------------------------------------------------------------------------

TokenKind = Literal["word", "string", "op", "lparen", "rparen", "comma", "and", "or", "not", "end"]


@dataclass(frozen=True, slots=True)
class Token:
    kind: TokenKind
    text: str
    pos: int


def tokenize(query: str) -> list[Token]:
    """Split a query into tokens; raises JqlError for an unfinished quoted string."""
    tokens: list[Token] = []
    i, n = 0, len(query)
    while i < n:
        ch = query[i]
        if ch.isspace():
            i += 1
        elif ch in "\"'":
            start, i = i, i + 1
            chars: list[str] = []
            while i < n and query[i] != ch:
                if query[i] == "\\" and i + 1 < n:
                    i += 1
                chars.append(query[i])
                i += 1
            if i >= n:
                raise _syntax(f"The quoted string '{''.join(chars)}' has not been completed.", query, start)
            tokens.append(Token("string", "".join(chars), start))
            i += 1
        elif ch == "(":
            tokens.append(Token("lparen", ch, i))
            i += 1
        elif ch == ")":
            tokens.append(Token("rparen", ch, i))
            i += 1
        elif ch == ",":
            tokens.append(Token("comma", ch, i))
            i += 1
        elif ch in "&|":
            width = 2 if query.startswith(ch * 2, i) else 1
            tokens.append(Token("and" if ch == "&" else "or", query[i : i + width], i))
            i += width
        elif ch in "=~":
            tokens.append(Token("op", ch, i))
            i += 1
        elif ch == "!":
            if i + 1 < n and query[i + 1] in "=~":
                tokens.append(Token("op", query[i : i + 2], i))
                i += 2
            else:
                tokens.append(Token("not", ch, i))
                i += 1
        elif ch in "<>":
            width = 2 if i + 1 < n and query[i + 1] == "=" else 1
            tokens.append(Token("op", query[i : i + width], i))
            i += width
        else:
            start = i
            while i < n and query[i] not in _WORD_BREAK:
                i += 1
            word = query[start:i]
            lowered = word.lower()
            if lowered == "and":
                tokens.append(Token("and", word, start))
            elif lowered == "or":
                tokens.append(Token("or", word, start))
            elif lowered == "not":
                tokens.append(Token("not", word, start))
            else:
                tokens.append(Token("word", word, start))
    tokens.append(Token("end", "", n))
    return tokens


# --- syntax tree ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Value:
    text: str
    quoted: bool


@dataclass(frozen=True, slots=True)
class Empty:
    pass


@dataclass(frozen=True, slots=True)
class Function:
    name: str
    args: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ValueList:
    items: tuple[Value | Function, ...]


Operand = Value | Empty | Function | ValueList


@dataclass(frozen=True, slots=True)
class Clause:
    field: str
    operator: str  # lower case: "=", "!=", "~", "!~", "<", "<=", ">", ">=", "in", "not in", "is", "is not"
    operand: Operand
    pos: int


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    child: Node


Node = Clause | And | Or | Not


@dataclass(frozen=True, slots=True)
class SortKey:
    field: str
    descending: bool
    pos: int


@dataclass(frozen=True, slots=True)
class Query:
    where: Node | None
    order_by: tuple[SortKey, ...]


class _Parser:
    def __init__(self, query: str) -> None:
        self.query = query
        self.tokens = tokenize(query)
        self.i = 0

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        token = self.tokens[self.i]
        if token.kind != "end":
            self.i += 1
        return token

    def is_word(self, word: str) -> bool:
        token = self.peek()
        return token.kind == "word" and token.text.lower() == word

    def error(self, text: str, token: Token) -> JqlError:
        return _syntax(text, self.query, token.pos)

    def parse(self) -> Query:
        where: Node | None = None
        if self.peek().kind != "end" and not self.is_word("order"):
            where = self.parse_or()
        order_by: tuple[SortKey, ...] = ()
        if self.is_word("order"):
            order_by = self.parse_order_by()
        token = self.peek()
        if token.kind != "end":
            raise self.error(f"Expecting either 'OR' or 'AND' but got '{token.text}'.", token)
        return Query(where, order_by)

    def parse_or(self) -> Node:
        children = [self.parse_and()]
        while self.peek().kind == "or":
            self.take()
            children.append(self.parse_and())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def parse_and(self) -> Node:
        children = [self.parse_not()]
        while self.peek().kind == "and":
            self.take()
            children.append(self.parse_not())
        return children[0] if len(children) == 1 else And(tuple(children))

    def parse_not(self) -> Node:
        token = self.peek()
        if token.kind == "not":
            self.take()
            return Not(self.parse_not())
        if token.kind == "lparen":
            self.take()
            inner = self.parse_or()
            closing = self.peek()
            if closing.kind != "rparen":
                if closing.kind == "end":
                    raise self.error("Expecting ')' before the end of the query.", closing)
                raise self.error(f"Expecting ')' but got '{closing.text}'.", closing)
            self.take()
            return inner
        return self.parse_clause()

    def parse_field(self) -> Token:
        token = self.peek()
        if token.kind == "string":
            return self.take()
        if token.kind == "word":
            if token.text.lower() in RESERVED:
                raise self.error(
                    f"'{token.text}' is a reserved JQL word. You must surround it in quotation marks "
                    "to use it in a query.",
                    token,
                )
            return self.take()
        if token.kind == "end":
            raise self.error("Expecting a field name before the end of the query.", token)
        raise self.error(f"Expecting a field name but got '{token.text}'.", token)

    def parse_operator(self) -> str:
        token = self.peek()
        if token.kind == "op":
            self.take()
            return token.text
        if token.kind == "word" and token.text.lower() == "in":
            self.take()
            return "in"
        if token.kind == "not":
            self.take()
            if self.is_word("in"):
                self.take()
                return "not in"
            raise self.error(f"Expecting operator but got '{token.text}'. {OPERATORS_HINT}", token)
        if token.kind == "word" and token.text.lower() == "is":
            self.take()
            if self.peek().kind == "not":
                self.take()
                return "is not"
            return "is"
        if token.kind == "word" and token.text.lower() in {"was", "changed"}:
            raise self.error(
                f"The operator '{token.text.upper()}' is not supported by this simulator "
                "(it keeps no change history).",
                token,
            )
        if token.kind == "end":
            raise self.error(f"Expecting operator before the end of the query. {OPERATORS_HINT}", token)
        raise self.error(f"Expecting operator but got '{token.text}'. {OPERATORS_HINT}", token)

    def parse_single(self, allow_empty: bool) -> Value | Empty | Function:
        token = self.peek()
        if token.kind == "string":
            self.take()
            return Value(token.text, True)
        if token.kind == "word":
            lowered = token.text.lower()
            if lowered in {"empty", "null"}:
                if not allow_empty:
                    raise self.error(f"'{token.text}' cannot be used in a list of values.", token)
                self.take()
                return Empty()
            if lowered in RESERVED:
                raise self.error(
                    f"'{token.text}' is a reserved JQL word. You must surround it in quotation marks "
                    "to use it in a query.",
                    token,
                )
            self.take()
            if self.peek().kind == "lparen":
                return Function(token.text, self.parse_arguments())
            return Value(token.text, False)
        if token.kind == "end":
            raise self.error("Expecting either a value, list or function before the end of the query.", token)
        raise self.error(
            f"Expecting either a value, list or function but got '{token.text}'. "
            f"You must surround '{token.text}' in quotation marks to use it as a value.",
            token,
        )

    def parse_arguments(self) -> tuple[str, ...]:
        self.take()  # "("
        args: list[str] = []
        while True:
            token = self.peek()
            if token.kind == "rparen":
                self.take()
                return tuple(args)
            if token.kind in {"word", "string"}:
                args.append(self.take().text)
                if self.peek().kind == "comma":
                    self.take()
                continue
            if token.kind == "end":
                raise self.error("Expecting ')' before the end of the query.", token)
            raise self.error(f"Expecting ')' but got '{token.text}'.", token)

    def parse_operand(self, operator: str) -> Operand:
        if operator in {"in", "not in"}:
            token = self.peek()
            if token.kind != "lparen":
                single = self.parse_single(allow_empty=False)
                if isinstance(single, Function):
                    return single
                raise self.error(f"Expecting '(' but got '{token.text}'.", token)
            self.take()
            items: list[Value | Function] = []
            while True:
                item = self.parse_single(allow_empty=False)
                assert not isinstance(item, Empty)
                items.append(item)
                token = self.peek()
                if token.kind == "comma":
                    self.take()
                    continue
                if token.kind == "rparen":
                    self.take()
                    return ValueList(tuple(items))
                if token.kind == "end":
                    raise self.error("Expecting ')' before the end of the query.", token)
                raise self.error(f"Expecting ',' or ')' but got '{token.text}'.", token)
        if operator in {"is", "is not"}:
            token = self.peek()
            if token.kind == "word" and token.text.lower() in {"empty", "null"}:
                self.take()
                return Empty()
            text = token.text or "the end of the query"
            raise self.error(
                f"Expecting 'EMPTY' or 'NULL' after '{operator.upper()}' but got '{text}'.", token
            )
        return self.parse_single(allow_empty=True)

    def parse_clause(self) -> Clause:
        field_token = self.parse_field()
        operator = self.parse_operator()
        operand = self.parse_operand(operator)
        return Clause(field_token.text, operator, operand, field_token.pos)

    def parse_order_by(self) -> tuple[SortKey, ...]:
        self.take()  # ORDER
        token = self.peek()
        if not self.is_word("by"):
            raise self.error(f"Expecting 'BY' but got '{token.text or 'the end of the query'}'.", token)
        self.take()
        keys: list[SortKey] = []
        while True:
            field_token = self.parse_field()
            descending = False
            if self.is_word("asc"):
                self.take()
            elif self.is_word("desc"):
                self.take()
                descending = True
            keys.append(SortKey(field_token.text, descending, field_token.pos))
            if self.peek().kind != "comma":
                return tuple(keys)
            self.take()


def parse(query: str) -> Query:
    """Parse a JQL query into a syntax tree; raises JqlError with Jira's wording."""
    return _Parser(query).parse()


# --- compiling against a field catalog ------------------------------------------------------

FieldKind = Literal["exact", "text", "ordered"]


@dataclass(frozen=True)
class JqlField:
    """How one JQL field reads an item; values are lower-cased strings, text, or comparables."""

    name: str
    kind: FieldKind
    values: Callable[[Any], Sequence[Any]]
    # Turns a literal into the stored form; raises JqlError for a value that does not exist.
    resolve: Callable[[str], Any] | None = None
    sort_key: Callable[[Any], Any] | None = None
    # A literal that means EMPTY for this field, such as resolution = Unresolved.
    empty_alias: str | None = None


Catalog = Callable[[str], JqlField | None]
Matcher = Callable[[Any], bool]


@dataclass(frozen=True)
class CompiledQuery:
    """A query ready to run: a predicate and the sort keys, outermost first."""

    matches: Matcher
    order_by: tuple[tuple[Callable[[Any], Any], bool], ...]
    bounded: bool

    def sort(self, items: list[Any]) -> list[Any]:
        """Sort in place by the ORDER BY keys (Python's sort is stable, so apply the last key first)."""
        for key, descending in reversed(self.order_by):
            present = [item for item in items if key(item) is not None]
            missing = [item for item in items if key(item) is None]
            present.sort(key=key, reverse=descending)
            # Jira lists EMPTY values last in either direction.
            items[:] = present + missing
        return items


# Full text (`~`), as Jira's Lucene index treats it: text is cut into words of letters, digits
# and `_`, lower-cased, and English stop words are dropped, in the issue and in the query alike.
# In the query a backslash makes the next character literal (so it only separates words), a
# double-quoted part is a phrase (its words in a row), unescaped `*` and `?` are wildcards (also
# inside a phrase: Jira then finds `ok?*` only in a word longer than "ok"), and every other
# clause must match. No stemming. A query with no word left matches nothing.
STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "if",
        "in",
        "into",
        "is",
        "it",
        "no",
        "not",
        "of",
        "on",
        "or",
        "such",
        "that",
        "the",
        "their",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "was",
        "will",
        "with",
    ]
)
_WORD = re.compile(r"\w+")


def analyze(text: str) -> list[str]:
    """The words the index keeps for a text, in order."""
    return [word for word in _WORD.findall(text.lower()) if word not in STOP_WORDS]


@dataclass(frozen=True, slots=True)
class _Piece:
    text: str
    wildcard: bool


def _pieces(chars: list[tuple[str, bool]]) -> list[_Piece]:
    """Words of one query term; chars are (character, escaped)."""
    pieces: list[_Piece] = []
    word: list[str] = []
    wild = False

    def flush() -> None:
        nonlocal wild
        text = "".join(word).lower()
        if text and (wild or text not in STOP_WORDS):
            pieces.append(_Piece(text, wild))
        word.clear()
        wild = False

    for ch, escaped in chars:
        if not escaped and ch in "*?":
            word.append(ch)
            wild = True
        elif _WORD.fullmatch(ch):
            word.append(ch)
        else:
            flush()
    flush()
    return pieces


def _parse_text_query(pattern: str) -> list[tuple[bool, list[_Piece]]]:
    """(is_phrase, words) clauses of a full-text query."""
    clauses: list[tuple[bool, list[_Piece]]] = []
    chars: list[tuple[str, bool]] = []
    phrase = False
    i = 0
    # Lower-cased first, as analyze() does: some letters lower into two characters (İ).
    pattern = pattern.lower()

    def close(as_phrase: bool) -> None:
        pieces = _pieces(chars)
        if pieces:
            clauses.append((as_phrase, pieces))
        chars.clear()

    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            chars.append((pattern[i + 1], True))
            i += 2
            continue
        if ch == '"':
            close(phrase)
            phrase = not phrase
        elif ch.isspace() and not phrase:
            close(False)
        else:
            chars.append((ch, False))
        i += 1
    close(phrase)
    return clauses


def _piece_matches(piece: _Piece, word: str) -> bool:
    if not piece.wildcard:
        return piece.text == word
    regex = "".join(r"\w*" if c == "*" else r"\w" if c == "?" else re.escape(c) for c in piece.text)
    return re.fullmatch(regex, word) is not None


def _text_matcher(pattern: str) -> Callable[[str], bool]:
    clauses = _parse_text_query(pattern)

    def found(pieces: list[_Piece], words: list[str], phrase: bool) -> bool:
        if not phrase:
            return all(any(_piece_matches(p, w) for w in words) for p in pieces)
        width = len(pieces)
        return any(
            all(_piece_matches(p, w) for p, w in zip(pieces, words[start : start + width], strict=True))
            for start in range(len(words) - width + 1)
        )

    def match(text: str) -> bool:
        if not clauses:
            return False
        words = analyze(text)
        return all(found(pieces, words, phrase) for phrase, pieces in clauses)

    return match


def _field_or_error(catalog: Catalog, name: str) -> JqlField:
    field = catalog(name.lower())
    if field is None:
        raise JqlError(f"Field '{name}' does not exist or you do not have permission to view it.")
    return field


def _literal(field: JqlField, item: Value | Function, functions: Mapping[str, Callable[[], str]]) -> Any:
    if isinstance(item, Function):
        fn = functions.get(item.name.lower())
        if fn is None:
            raise JqlError(
                f"{SYNTAX_PREFIX}Unable to find JQL function '{item.name}({','.join(item.args)})'."
            )
        text = fn()
    else:
        text = item.text
    if field.resolve is not None:
        return field.resolve(text)
    return text.lower()


def _unsupported(operator: str, field: JqlField) -> JqlError:
    return JqlError(f"The operator '{operator.upper()}' is not supported by the '{field.name}' field.")


def _compile_clause(clause: Clause, catalog: Catalog, functions: Mapping[str, Callable[[], str]]) -> Matcher:
    field = _field_or_error(catalog, clause.field)
    op, operand, values = clause.operator, clause.operand, field.values
    alias = field.empty_alias
    if alias and isinstance(operand, Value) and operand.text.lower() == alias and op in {"=", "!="}:
        operand = Empty()
    if alias and isinstance(operand, ValueList) and op in {"in", "not in"}:
        rest = tuple(i for i in operand.items if not (isinstance(i, Value) and i.text.lower() == alias))
        if len(rest) != len(operand.items):
            inner = _compile_clause(
                Clause(clause.field, "in", ValueList(rest), clause.pos), catalog, functions
            )
            either: Matcher = (
                (lambda item: not values(item) or inner(item)) if rest else (lambda item: not values(item))
            )
            return either if op == "in" else (lambda item: not either(item))
    if isinstance(operand, Empty):
        if op in {"is", "="}:
            return lambda item: not values(item)
        if op in {"is not", "!="}:
            return lambda item: bool(values(item))
        raise _unsupported(op, field)
    if op in {"is", "is not"}:
        raise _unsupported(op, field)
    if field.kind == "text":
        if op not in {"~", "!~"}:
            raise _unsupported(op, field)
        assert isinstance(operand, Value | Function)
        pattern = operand.text if isinstance(operand, Value) else _literal(field, operand, functions)
        text_match = _text_matcher(pattern)
        if op == "~":
            return lambda item: any(text_match(v) for v in values(item))
        # Jira's negative operators never match an empty field.
        return lambda item: bool(values(item)) and not any(text_match(v) for v in values(item))
    if op in {"~", "!~"}:
        raise _unsupported(op, field)
    if op in {"in", "not in"}:
        if isinstance(operand, ValueList):
            items: tuple[Value | Function, ...] = operand.items
        else:
            items = (operand,)
        wanted = frozenset(_literal(field, i, functions) for i in items)
        if op == "in":
            return lambda item: any(v in wanted for v in values(item))
        return lambda item: bool(values(item)) and not any(v in wanted for v in values(item))
    assert isinstance(operand, Value | Function)
    literal = _literal(field, operand, functions)
    if op == "=":
        return lambda item: literal in values(item)
    if op == "!=":
        return lambda item: bool(values(item)) and literal not in values(item)
    if field.kind != "ordered":
        raise _unsupported(op, field)
    compare: Callable[[Any, Any], bool] = {
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
    }[op]
    return lambda item: any(compare(v, literal) for v in values(item))


def _compile_node(node: Node, catalog: Catalog, functions: Mapping[str, Callable[[], str]]) -> Matcher:
    if isinstance(node, Clause):
        return _compile_clause(node, catalog, functions)
    if isinstance(node, Not):
        inner = _compile_node(node.child, catalog, functions)
        return lambda item: not inner(item)
    parts = tuple(_compile_node(child, catalog, functions) for child in node.children)
    if isinstance(node, And):
        return lambda item: all(part(item) for part in parts)
    return lambda item: any(part(item) for part in parts)


def compile_query(
    query: Query | str, catalog: Catalog, functions: Mapping[str, Callable[[], str]] | None = None
) -> CompiledQuery:
    """Bind a parsed query to a field catalog; unknown fields, values or operators raise JqlError."""
    if isinstance(query, str):
        query = parse(query)
    functions = functions or {}
    matches: Matcher = (
        (lambda item: True) if query.where is None else _compile_node(query.where, catalog, functions)
    )
    order: list[tuple[Callable[[Any], Any], bool]] = []
    for key in query.order_by:
        field = _field_or_error(catalog, key.field)
        if field.sort_key is None:
            raise JqlError(f"Field '{field.name}' does not support sorting.")
        order.append((field.sort_key, key.descending))
    return CompiledQuery(matches, tuple(order), query.where is not None)
