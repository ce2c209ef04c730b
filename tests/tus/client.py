#!/usr/bin/env python3
"""Drives tuspy (the Python tus client) for the studio's upload tests
(studio-web/tests/uploads.rs). Uploads FILE in chunks, or resumes the upload at --url, and
stops after --stop-at bytes when asked. Prints one JSON line: {"url": ..., "offset": ...}."""

import argparse
import json

from tusclient import client

parser = argparse.ArgumentParser()
parser.add_argument("endpoint")
parser.add_argument("file")
parser.add_argument("--user", required=True, help="sent as X-Test-User")
parser.add_argument("--chunk", type=int, default=256 * 1024)
parser.add_argument("--stop-at", type=int, default=None)
parser.add_argument("--url", default=None, help="resume this upload instead of creating one")
parser.add_argument("--name", default="clip.mp4")
parser.add_argument("--checksum", action="store_true", help="send Upload-Checksum (sha1)")
args = parser.parse_args()

tus = client.TusClient(args.endpoint, headers={"X-Test-User": args.user})
options = dict(
    chunk_size=args.chunk,
    metadata={"filename": args.name, "filetype": "video/mp4"},
    upload_checksum=args.checksum,
)
if args.url:
    options["url"] = args.url
uploader = tus.uploader(args.file, **options)
uploader.upload(stop_at=args.stop_at)
print(json.dumps({"url": uploader.url, "offset": uploader.offset}))
