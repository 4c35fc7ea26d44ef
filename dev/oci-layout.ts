import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BuiltManifest } from './emulator/registry/content.js';

/** Writes an OCI image layout (`oci:DIR:tag` for skopeo) holding `built` (and its children). */
export async function writeOciLayout(dir: string, built: BuiltManifest, tag: string): Promise<void> {
  const blobs = join(dir, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  const write = async (m: BuiltManifest): Promise<void> => {
    for (const child of m.children) await write(child);
    for (const b of m.blobs) if (b.bytes) await writeFile(join(blobs, b.digest.slice('sha256:'.length)), b.bytes);
    await writeFile(join(blobs, m.digest.slice('sha256:'.length)), m.bytes);
  };
  await write(built);
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: built.mediaType,
          digest: built.digest,
          size: built.bytes.length,
          annotations: { 'org.opencontainers.image.ref.name': tag },
        },
      ],
    }),
  );
}
