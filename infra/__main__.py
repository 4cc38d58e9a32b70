"""`python -m infra`: starts the local stack and serves until interrupted (make run)."""

import argparse
import os
import signal
import threading

from infra.stack import DEFAULT_API_KEY, LocalStack


def main() -> None:
    parser = argparse.ArgumentParser(description="Run authflow locally: moto, the real handlers and workflows, the API.")
    parser.add_argument("--port", type=int, default=int(os.environ.get("AUTHFLOW_PORT", "3000")))
    parser.add_argument("--moto-port", type=int, default=int(os.environ.get("AUTHFLOW_MOTO_PORT", "0")))
    parser.add_argument("--parameter", action="append", default=[], metavar="NAME=VALUE", help="template parameter override")
    args = parser.parse_args()
    parameters = dict(p.split("=", 1) for p in args.parameter)
    api_key = os.environ.get("AUTHFLOW_API_KEY", DEFAULT_API_KEY)
    stack = LocalStack(api_port=args.port, moto_port=args.moto_port, api_key=api_key, parameters=parameters).start()
    print(
        f"authflow local stack is up\n"
        f"  API        {stack.api_url}   (header x-api-key: {api_key}, the API key named local)\n"
        f"  OpenAPI    {stack.api_url}/openapi.json\n"
        f"  mail       {stack.local_url}/mail\n"
        f"  events     {stack.local_url}/events\n"
        f"  webhooks   {stack.local_url}/webhooks\n"
        f"  executions {stack.local_url}/executions\n"
        f"  AWS (moto) http://127.0.0.1:{stack.moto_port}\n"
        f"More API keys (one per front end; each is printed once):\n"
        f"  .venv/bin/authflow api-keys create <name> --url {stack.local_url.removesuffix('/_local')}\n"
        f"Admin routes (webhooks, any user's onboarding or deletion) need an admin's access token:\n"
        f"  .venv/bin/authflow admins add <email of an onboarded user> --url {stack.local_url.removesuffix('/_local')}\n"
        f"  then sign in as them (POST /v1/login, /v1/mfa-verify) and send Authorization: Bearer <access token>\n"
        f"Ctrl-C stops it.",
        flush=True,
    )
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
