"""chasquid-util: argument parsing, every userdb subcommand, print-config,
and interop with Go chasquid's own chasquid-util (its argument
parsing and outputs)."""

import os
import stat
import subprocess

import pytest

from conftest import binary
from usersutil import go_chasquid_util, util


@pytest.fixture
def conf(tmp_path):
    d = tmp_path / "config"
    (d / "domains" / "dom").mkdir(parents=True)
    return d


def users_file(conf, domain="dom"):
    return conf / "domains" / domain / "users"


def test_usage_and_unknown(conf):
    r = util(conf, "--help")
    assert r.returncode == 0
    lines = r.stdout.split("\n")
    assert lines[0] == "" and lines[1] == "Usage:"
    assert "  -v                              Verbose mode" in r.stdout
    assert "dkim-keygen <domain>" in r.stdout

    for args, name in [((), ""), (("blah",), "blah")]:
        r = util(conf, *args)
        assert r.returncode == 1
        assert r.stdout == f'Unknown argument "{name}"\n'
        assert r.stderr.split("\n")[1] == "Usage:"

    # --help anywhere, even after a command.
    r = util(conf, "user-add", "--help")
    assert r.returncode == 0 and "Usage:" in r.stdout


def test_user_add_authenticate_remove(conf):
    r = util(conf, "user-add", "Usér@dom", "--password=pass word")
    assert (r.returncode, r.stdout, r.stderr) == (0, "Added user\n", "")
    st = os.stat(users_file(conf))
    assert stat.S_IMODE(st.st_mode) == 0o660
    text = users_file(conf).read_text()
    assert "usér" in text or "us\\303\\251r" in text
    assert "logN: 14" in text and "keyLen: 32" in text

    r = util(conf, "authenticate", "usér@dom", "--password=pass word")
    assert (r.returncode, r.stdout) == (0, "Authentication succeeded\n")
    # The user part is normalised; the domain is a path, as typed.
    r = util(conf, "authenticate", "USÉR@dom", "--password=pass word")
    assert r.returncode == 0
    r = util(conf, "authenticate", "usér@dom", "--password=wrong")
    assert (r.returncode, r.stderr) == (1, "Authentication failed\n")
    r = util(conf, "authenticate", "nobody@dom", "--password=x")
    assert (r.returncode, r.stderr) == (1, "Authentication failed\n")

    r = util(conf, "check-userdb", "dom")
    assert (r.returncode, r.stdout) == (0, "Database loaded (1 users)\n")

    r = util(conf, "user-remove", "usér@dom")
    assert (r.returncode, r.stdout) == (0, "Removed user\n")
    r = util(conf, "user-remove", "usér@dom")
    assert (r.returncode, r.stderr) == (1, "Unknown user\n")
    r = util(conf, "check-userdb", "dom")
    assert r.stdout == "Database loaded (0 users)\n"


def test_user_add_errors(conf):
    r = util(conf, "user-add", "nodomain", "--password=x")
    assert r.returncode == 1
    assert r.stderr == ("Domain missing, username should be of the form "
                        "'user@domain'\n")
    r = util(conf, "user-add", "a b@dom", "--password=x")
    assert (r.returncode, r.stderr) == (
        1, "Error normalizing user: precis: disallowed rune encountered\n")
    r = util(conf, "user-add", "♚@dom", "--password=x")
    assert r.stderr == "Error normalizing user: bidirule: failed Bidi Rule\n"
    r = util(conf, "user-add", "a@dom", "--password=x", "--receive_only")
    assert (r.returncode, r.stderr) == (
        1, "Cannot specify both --receive_only and --password\n")
    # No terminal and no --password.
    r = util(conf, "user-add", "a@dom", input="x\nx\n")
    assert r.returncode == 1
    assert r.stdout.startswith("Password: ")
    assert "Error reading password: inappropriate ioctl for device" \
        in r.stderr
    # Broken database.
    users_file(conf).write_text("users: {{{\n")
    r = util(conf, "user-add", "a@dom", "--password=x")
    assert r.returncode == 1
    assert r.stderr.startswith(
        f"Error loading database: {conf}/domains/dom/users:1:")
    r = util(conf, "check-userdb", "dom")
    assert r.returncode == 1 and r.stderr.startswith("Error loading database")


def test_user_add_creates_domain_and_receive_only(conf):
    r = util(conf, "user-add", "rx@newdom", "--receive_only")
    assert (r.returncode, r.stdout) == (0, "Creating database\nAdded user\n")
    d = conf / "domains" / "newdom"
    assert stat.S_IMODE(os.stat(d).st_mode) & 0o755 == 0o755
    assert "denied" in users_file(conf, "newdom").read_text()
    r = util(conf, "authenticate", "rx@newdom", "--password=")
    assert (r.returncode, r.stderr) == (1, "Authentication failed\n")
    # Overwrites the user: now with a password.
    r = util(conf, "user-add", "rx@newdom", "--password=p")
    assert r.stdout == "Added user\n"
    assert util(conf, "authenticate", "rx@newdom",
                "--password=p").returncode == 0
    # A domain dir that cannot be created (a dangling symlink; we may be
    # root, so permissions would not stop us).
    os.symlink("/nonexistent/x", conf / "domains" / "dangling")
    r = util(conf, "user-add", "a@dangling", "--password=p")
    assert r.returncode == 1
    assert r.stdout == "Creating database\n"
    assert r.stderr == (f"Error creating database dir: mkdir "
                        f"{conf}/domains/dangling/: file exists\n")


def test_check_userdb_missing(conf):
    r = util(conf, "check-userdb", "nodom")
    assert (r.returncode, r.stderr) == (
        1, f'Error: file "{conf}/domains/nodom/users" does not exist\n')
    r = util(conf, "check-userdb")
    assert r.stderr == f'Error: file "{conf}/domains//users" does not exist\n'


def test_config_dir_options(tmp_path, conf):
    # Relative to the working directory; -C=. as the tests do.
    users_file(conf).write_text(
        "users:{ key: 'u' value:{ plain:{ password: 'p' }}}\n")
    cmd = binary("chasquid-util")
    r = subprocess.run([cmd, "-C=.", "check-userdb", "dom"], cwd=conf,
                       capture_output=True, text=True)
    assert r.stdout == "Database loaded (1 users)\n"
    r = subprocess.run([cmd, "check-userdb", "--config_dir=config", "dom"],
                       cwd=tmp_path, capture_output=True, text=True)
    assert r.stdout == "Database loaded (1 users)\n"
    r = subprocess.run([cmd, "--configdir=config", "check-userdb", "dom"],
                       cwd=tmp_path, capture_output=True, text=True)
    assert r.stdout == "Database loaded (1 users)\n"
    assert r.stderr == ("Option --configdir is deprecated, use --config_dir "
                        "instead\n")
    # Precedence: --configdir > -C > --config_dir.
    r = subprocess.run([cmd, "--config_dir=/nonexistent", "-C=config",
                        "check-userdb", "dom"], cwd=tmp_path,
                       capture_output=True, text=True)
    assert r.returncode == 0
    r = subprocess.run([cmd, "-C=/nonexistent", "--configdir=config",
                        "check-userdb", "dom"], cwd=tmp_path,
                       capture_output=True, text=True)
    assert r.returncode == 0
    # "-C dir" does not work: "dir" is a positional argument.
    r = subprocess.run([cmd, "-C", "config", "check-userdb", "dom"],
                       cwd=tmp_path, capture_output=True, text=True)
    assert r.stdout == 'Unknown argument "config"\n'
    # Default /etc/chasquid.
    r = subprocess.run([cmd, "check-userdb", "zz-not-a-domain"],
                       capture_output=True, text=True)
    assert r.stderr == ('Error: file "/etc/chasquid/domains/zz-not-a-domain/'
                        'users" does not exist\n')


def test_plain_users_written_by_tests(conf):
    # The form the end-to-end tests append, one line per user.
    users_file(conf).write_text(
        "users:{ key: 'user' value:{ plain:{ password: 'secretpassword' }}}\n"
        "users:{ key: 'ñandú' value:{ plain:{ password: 'x' }}}\n")
    assert util(conf, "authenticate", "user@dom",
                "--password=secretpassword").returncode == 0
    assert util(conf, "authenticate", "ÑANDÚ@dom",
                "--password=x").returncode == 0


def test_print_config(conf):
    (conf / "chasquid.conf").write_text(
        'hostname: "myhost"\ndata_dir: ".data"\n')
    r = util(conf, "print-config")
    assert r.returncode == 0
    lines = r.stdout.split("\n")
    assert lines[0].split() == ["hostname:", '"myhost"']
    assert any(line.split() == ["data_dir:", '".data"'] for line in lines)
    assert any(line.split() == ["max_queue_items:", "200"] for line in lines)
    assert r.stdout.endswith("\n")
    (conf / "chasquid.conf").write_text("bad_field: 1\n")
    r = util(conf, "print-config")
    assert r.returncode == 1
    assert r.stderr.startswith("Error loading config: ")
    (conf / "chasquid.conf").unlink()
    r = util(conf, "print-config")
    assert r.stderr == (
        f'Error loading config: failed to read config at '
        f'"{conf}/chasquid.conf": open {conf}/chasquid.conf: '
        f'no such file or directory\n')


def test_interop_with_go_chasquid_util(tmp_path, conf):
    go = go_chasquid_util()
    # Theirs writes, ours reads.
    r = subprocess.run([go, f"-C={conf}", "user-add", "gopher@dom",
                        "--password=from go ñ"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    r = util(conf, "authenticate", "gopher@dom", "--password=from go ñ")
    assert r.returncode == 0, r.stderr
    r = util(conf, "authenticate", "gopher@dom", "--password=from go")
    assert r.returncode == 1
    # Ours writes (the whole file, theirs included), theirs reads.
    r = util(conf, "user-add", "ñandú@dom", "--password=from c++ ñ")
    assert r.returncode == 0, r.stderr
    # (No receive-only user here: Debian's chasquid 1.11 predates the
    # `denied` scheme and rejects the file with it.)
    for user, pw in [("ñandú", "from c++ ñ"), ("gopher", "from go ñ")]:
        r = subprocess.run([go, f"-C={conf}", "authenticate", f"{user}@dom",
                            f"--password={pw}"], capture_output=True,
                           text=True, timeout=60)
        assert (r.returncode, r.stdout) == (
            0, "Authentication succeeded\n"), r.stderr
    r = subprocess.run([go, f"-C={conf}", "authenticate", "ñandú@dom",
                        "--password=wrong"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 1
    r = subprocess.run([go, f"-C={conf}", "check-userdb", "dom"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "Database loaded" in r.stdout, r.stderr


def run_on_tty(conf, args, typed):
    """Runs chasquid-util with a pseudo-terminal as stdin, typing `typed`."""
    import pty
    master, slave = pty.openpty()
    try:
        p = subprocess.Popen([binary("chasquid-util"), f"-C={conf}", *args],
                             stdin=slave, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        os.close(slave)
        slave = None
        os.write(master, typed.encode())
        out, err = p.communicate(timeout=30)
        return p.returncode, out, err
    finally:
        os.close(master)
        if slave is not None:
            os.close(slave)


def test_password_prompt_on_terminal(conf):
    rc, out, err = run_on_tty(conf, ["user-add", "tty@dom"],
                              "s3cret ñ\ns3cret ñ\n")
    assert (rc, out, err) == (
        0, "Password: \nConfirm password: \nAdded user\n", "")
    assert util(conf, "authenticate", "tty@dom",
                "--password=s3cret ñ").returncode == 0
    rc, out, err = run_on_tty(conf, ["user-add", "tty@dom"], "one\ntwo\n")
    assert (rc, err) == (1, "Passwords don't match\n")
    # authenticate prompts the same way.
    rc, out, err = run_on_tty(conf, ["authenticate", "tty@dom"],
                              "s3cret ñ\ns3cret ñ\n")
    assert (rc, out) == (0, "Password: \nConfirm password: \n"
                            "Authentication succeeded\n")


def test_dkim_error_texts_as_chasquid(conf, tmp_path):
    """dkim-sign and dkim-dns answer bad input with chasquid's words and
    exit status 1: a message whose first line has no colon (Go's net/mail
    text, as in DATA's reply), and a key file that is PEM but not PKCS#8."""
    r = util(conf, "dkim-sign", input="Invalid message.\n")
    assert r.returncode == 1
    assert r.stderr == ("Error parsing message: malformed header line: "
                        "Invalid message.\n")

    key = tmp_path / "rsa1.pem"
    subprocess.run(["openssl", "genrsa", "-traditional", "-out", str(key),
                    "2048"], check=True, capture_output=True)
    r = util(conf, "dkim-dns", "dom", "sel", str(key))
    assert r.returncode == 1
    assert r.stderr == "Unsupported key type: RSA PRIVATE KEY\n"

    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a key\n")
    r = util(conf, "dkim-dns", "dom", "sel", str(garbage))
    assert r.returncode == 1
    assert r.stderr == "Error decoding PEM block\n"
