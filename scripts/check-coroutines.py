#!/usr/bin/python3
"""Checks the project's coroutine rules, which exist because of GCC 12.

GCC 12 mishandles a temporary with a non-trivial destructor that lives in a
co_await full-expression: it can be destroyed twice, or while the coroutine
that uses it is still suspended (GCC PR 99576 and relatives). Three crashes
in this code base came from that. So:

  1. No awaitable operator inside a co_await operand: `co_await (a || b)`
     builds the combined awaitable as a temporary. Name it first:
         auto race = std::move(a) || std::move(b);
         auto r = co_await std::move(race);
  2. No lambda inside a co_await operand. Name the callable first.
  3. No std::string built inside a co_await operand: a string literal or a
     concatenation passed to a coroutine makes a temporary std::string.
     Name the string first, or take std::string_view for literals.
  4. Coroutines take their parameters by value (or by pointer or plain
     `T&`, for objects the caller keeps alive): a `const T&` or `T&&`
     parameter can bind to a caller's temporary, which the coroutine frame
     then holds only by reference across its suspensions. A plain `T&`
     binds only to an lvalue whose lifetime the caller already manages, as
     with a pointer.
  5. No default argument that builds an object with a destructor (a
     std::string, a container, a std::function...) on a coroutine: a call
     that leaves it out builds that temporary inside the caller's co_await
     expression, where rule 3 cannot see it. Declare an overload without
     the parameter that passes the value on, or take a trivial type.

A line may opt out with a trailing `// co_await-ok: <reason>` comment on the
co_await's first line, or on the coroutine declaration's first line; the
reason is mandatory (e.g. the callee takes std::string_view, so a literal
makes no temporary).

Usage: scripts/check-coroutines.py [paths...]   (default: src cmd)
Exits 1 and prints each violation with the rule it breaks.
"""

import os
import re
import sys

EXEMPT = re.compile(r"//\s*co_await-ok:\s*\S")
CORO_RETURN = re.compile(r"\b(?:net::|boost::asio::)?awaitable\s*<")


def strip(text):
    """Blanks comments and the contents of string and char literals.

    Returns (code, literal_spans) where code has the same length and line
    structure as text, so offsets map back to line numbers, and string
    literals are replaced by `"S"`-like placeholders of equal length.
    """
    out = list(text)
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            for k in range(i, j):
                out[k] = " "
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            for k in range(i, j):
                if out[k] != "\n":
                    out[k] = " "
            i = j
        elif c == "R" and text.startswith('R"', i) and (
                i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            m = re.match(r'R"([^(\s]*)\(', text[i:])
            if not m:
                i += 1
                continue
            end = text.find(")" + m.group(1) + '"', i)
            end = n if end < 0 else end + len(m.group(1)) + 2
            for k in range(i + 1, end - 1):
                if out[k] != "\n":
                    out[k] = "s"
            out[i] = " "
            out[i + 1] = '"'
            out[end - 1] = '"'
            i = end
        elif c == '"' or (c == "'" and not (i > 0 and text[i - 1].isalnum())):
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            for k in range(i + 1, min(j, n)):
                out[k] = "s"
            i = j + 1
        else:
            i += 1
    return "".join(out)


def operand_end(code, start):
    """Offset where the expression that starts at `start` ends."""
    depth = 0
    i = start
    while i < len(code):
        c = code[i]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            if depth == 0:
                return i
            depth -= 1
        elif c in ";," and depth == 0:
            return i
        i += 1
    return i


def closing_paren(code, open_paren):
    """Offset of the parenthesis that closes the one at `open_paren`."""
    depth = 0
    for i in range(open_paren, len(code)):
        if code[i] == "(":
            depth += 1
        elif code[i] == ")":
            depth -= 1
            if depth == 0:
                return i
    return len(code)


def grouping_parens_ops(operand):
    """True if `||` or `&&` is at the top level or inside grouping parens
    (not inside a call's argument list)."""
    stack = []  # True for a call's parens, False for grouping.
    for i, c in enumerate(operand):
        if c == "(":
            prev = operand[:i].rstrip()[-1:] if operand[:i].strip() else ""
            stack.append(bool(prev) and (prev.isalnum() or prev in "_>)]"))
        elif c == ")":
            if stack:
                stack.pop()
        elif operand.startswith("||", i) or operand.startswith("&&", i):
            if not any(stack):
                return True
    return False


LAMBDA = re.compile(r"\[[^\[\]]*\]\s*(\([^)]*\))?\s*(mutable\s*)?(->[^{]*)?\{")
STRING_LITERAL = re.compile(r'"s*"')


def check_awaits(path, text, code, problems):
    lines = text.split("\n")
    for m in re.finditer(r"\bco_await\b", code):
        start = m.end()
        end = operand_end(code, start)
        operand = code[start:end]
        line = text.count("\n", 0, m.start()) + 1
        if EXEMPT.search(lines[line - 1]):
            continue
        where = f"{path}:{line}"
        if grouping_parens_ops(operand):
            problems.append(f"{where}: co_await on a temporary `a || b` / "
                            "`a && b` awaitable: name it first (rule 1)")
        if LAMBDA.search(operand):
            problems.append(f"{where}: lambda inside a co_await expression: "
                            "name it first (rule 2)")
        if STRING_LITERAL.search(operand):
            problems.append(f"{where}: string literal inside a co_await "
                            "expression may build a temporary std::string: "
                            "name it, or exempt it saying why it makes no "
                            "temporary (rule 3)")


# Parameter types whose default value would be a temporary with a
# destructor.
NON_TRIVIAL = re.compile(
    r"\bstd::(?:string|vector|function|shared_ptr|unique_ptr|map|set|"
    r"optional|deque|list)\b")

# A function declaration or definition returning an awaitable, with its
# parameter list.
CORO_DECL = re.compile(
    r"\b(?:net::|boost::asio::)?awaitable\s*<[^;{}()]*?>\s+"
    r"(?:[A-Za-z_][\w:]*::)?(~?[A-Za-z_]\w*)\s*\(")


def check_params(path, text, code, problems):
    lines = text.split("\n")
    for m in CORO_DECL.finditer(code):
        open_paren = m.end() - 1
        close = closing_paren(code, open_paren)
        params = code[open_paren + 1:close]
        line = text.count("\n", 0, m.start()) + 1
        if EXEMPT.search(lines[line - 1]):
            continue
        depth = 0
        parts, cur = [], ""
        for c in params:
            if c in "<([":
                depth += 1
            elif c in ">)]":
                depth -= 1
            if c == "," and depth == 0:
                parts.append(cur)
                cur = ""
            else:
                cur += c
        parts.append(cur)
        for p in parts:
            decl, _, default = p.partition("=")
            if default.strip() and (STRING_LITERAL.search(default) or
                                    NON_TRIVIAL.search(decl)):
                problems.append(
                    f"{path}:{line}: coroutine {m.group(1)}() has a default "
                    f"argument for `{' '.join(decl.split())}` that builds a "
                    "temporary in the caller's co_await: add an overload "
                    "instead (rule 5)")
            flat = re.sub(r"<[^<>]*>", "", decl)
            if "&&" in flat or ("&" in flat and re.search(r"\bconst\b", flat)):
                problems.append(
                    f"{path}:{line}: coroutine {m.group(1)}() takes "
                    f"`{' '.join(decl.split())}` by reference: take it by "
                    "value (rule 4)")


# Each must be flagged (the checker's own test, run with --self-test).
SELF_TEST_BAD = [
    "auto r = co_await (read || timer.async_wait(use_awaitable));",
    "co_await RunBlocking(pool, [path] { return Stat(path); });",
    'co_await WriteReply(221, "2.0.0 Bye");',
    "net::awaitable<void> F(const std::string& s);",
    "net::awaitable<Result<int>> G(int a, Thing&& t) {",
    'net::awaitable<void> H(int a, std::string port = "443");',
    "net::awaitable<void> K(std::vector<int> v = {});",
]
# Each must pass.
SELF_TEST_GOOD = [
    "auto race = std::move(a) || std::move(b);\nco_await std::move(race);",
    "if (x && y) co_await F(s);",
    "co_await F(ok && fine);",
    "net::awaitable<void> F(std::string s, Pool& pool, Conn* c);",
    "net::awaitable<void> L(int a, std::chrono::seconds t = 5s, "
    "bool b = false);",
    'co_await F("x");  // co_await-ok: F takes const char*',
    "// co_await (a || b) in a comment",
]


def self_test():
    failed = 0
    for snippet, want in ([(s, True) for s in SELF_TEST_BAD] +
                          [(s, False) for s in SELF_TEST_GOOD]):
        problems = []
        code = strip(snippet)
        check_awaits("t", snippet, code, problems)
        check_params("t", snippet, code, problems)
        if bool(problems) != want:
            print(f"self-test: {'missed' if want else 'false alarm'}: "
                  f"{snippet!r} {problems}")
            failed += 1
    return 1 if failed else 0


def main(argv):
    if argv[1:] == ["--self-test"]:
        return self_test()
    roots = argv[1:] or ["src", "cmd"]
    problems = []
    for root in roots:
        for dirpath, _, files in os.walk(root):
            for f in sorted(files):
                if not f.endswith((".cc", ".h")):
                    continue
                path = os.path.join(dirpath, f)
                with open(path, encoding="utf-8") as fh:
                    text = fh.read()
                if "co_await" not in text and "awaitable" not in text:
                    continue
                code = strip(text)
                check_awaits(path, text, code, problems)
                check_params(path, text, code, problems)
    for p in sorted(problems):
        print(p)
    if problems:
        print(f"\n{len(problems)} coroutine rule violation(s). Why these "
              "rules exist: the top of scripts/check-coroutines.py.",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
