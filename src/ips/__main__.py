from ips.cli import app

app(prog_name="ips")
