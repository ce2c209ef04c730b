// Drives tus-js-client (Node) for the studio's upload tests (studio-web/tests/uploads.rs).
// Uploads FILE in chunks, or resumes the upload at --url, and aborts once --stop-at bytes are
// in when asked. Prints one JSON line: {"url": ..., "offset": ...}.
//
// usage: node client.mjs ENDPOINT FILE --user N [--chunk BYTES] [--stop-at BYTES] [--url URL]
//        [--name NAME] [--with-creation]   (the first chunk travels with the creation POST)
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import * as tus from 'tus-js-client';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    user: { type: 'string' },
    chunk: { type: 'string', default: String(256 * 1024) },
    'stop-at': { type: 'string' },
    url: { type: 'string' },
    name: { type: 'string', default: 'clip.mp4' },
    'with-creation': { type: 'boolean', default: false },
  },
});
const [endpoint, file] = positionals;
const data = fs.readFileSync(file);
const stopAt = values['stop-at'] ? Number(values['stop-at']) : null;

const done = (offset) => {
  console.log(JSON.stringify({ url: upload.url, offset }));
  process.exit(0);
};

const upload = new tus.Upload(data, {
  endpoint,
  uploadUrl: values.url ?? null,
  chunkSize: Number(values.chunk),
  headers: { 'X-Test-User': values.user },
  metadata: { filename: values.name, filetype: 'video/mp4' },
  uploadDataDuringCreation: values['with-creation'],
  retryDelays: [0, 500, 1000],
  onChunkComplete: (_chunk, sent) => {
    if (stopAt !== null && sent >= stopAt) {
      upload.abort().then(() => done(sent));
    }
  },
  onSuccess: () => done(data.length),
  onError: (error) => {
    console.error(String(error));
    process.exit(1);
  },
});
upload.start();
