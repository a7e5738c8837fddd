"""Helpers for the SMTP receiving-side integration tests."""

import socket
import ssl


class RawClient:
    """A line-oriented SMTP client that sends exactly what it is told."""

    def __init__(self, port, host="127.0.0.1", timeout=10):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""

    def send(self, raw):
        self.sock.sendall(raw if isinstance(raw, bytes) else raw.encode())

    def _line(self):
        while b"\r\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                return None
            self.buf += data
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("utf-8", "replace")

    def reply(self):
        """One full reply as a list of lines; [] if the server closed."""
        lines = []
        while True:
            line = self._line()
            if line is None:
                return lines
            lines.append(line)
            if len(line) < 4 or line[3] != "-":
                return lines

    def do(self, line):
        self.send(line + "\r\n")
        return "\n".join(self.reply())

    def starttls(self, sni="testserver"):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        self.sock = ctx.wrap_socket(self.sock, server_hostname=sni)

    def closed(self):
        try:
            return self.buf == b"" and self.sock.recv(1) == b""
        except OSError:
            return True

    def close(self):
        self.sock.close()




def insecure_ctx():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx
