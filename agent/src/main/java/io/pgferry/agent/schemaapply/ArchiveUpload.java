package io.pgferry.agent.schemaapply;

import io.pgferry.agent.http.ApiException;
import io.pgferry.agent.http.BadRequestException;
import io.pgferry.agent.http.JsonBody;
import io.pgferry.agent.migration.MigrationId;
import io.pgferry.agent.schemaarchive.ArchiveFiles;
import io.pgferry.agent.schemaarchive.Manifest;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Stores what the source made, uploaded through Ansible: the archive (checked against the sha256 its sender
 * states) and then its manifest (checked against the stored archive). The bodies are streamed with their own
 * limits; the server's 1 MiB limit stays for every JSON request.
 */
final class ArchiveUpload {
    /** A schema-only archive is small: 256 MiB holds hundreds of thousands of objects. */
    static final long MAX_ARCHIVE_BYTES = 256L * 1024 * 1024;
    static final long MAX_MANIFEST_BYTES = 64L * 1024 * 1024;
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
    /** Every pg_dump custom-format archive starts with these bytes. */
    private static final byte[] MAGIC = "PGDMP".getBytes(StandardCharsets.US_ASCII);

    private final Path stateDir;

    ArchiveUpload(Path stateDir) {
        this.stateDir = stateDir;
    }

    UploadResult archive(MigrationId migration, InputStream body, String statedSha) throws IOException {
        if (statedSha == null || !SHA256.matcher(statedSha).matches()) {
            throw new BadRequestException("X-Pgferry-Sha256", "send the archive's sha256 as 64 lower-case hex "
                    + "digits in the X-Pgferry-Sha256 header");
        }
        ArchiveFiles files = new ArchiveFiles(stateDir, migration);
        Path tmp = files.temp(ArchiveFiles.DUMP);
        try {
            MessageDigest md = ArchiveFiles.sha256();
            long size;
            try (OutputStream out = Files.newOutputStream(tmp)) {
                size = copy(body, out, md, MAX_ARCHIVE_BYTES);
            }
            String sha = HexFormat.of().formatHex(md.digest());
            if (size == 0) {
                throw new BadRequestException("body", "send the archive's bytes as the request body");
            }
            if (!sha.equals(statedSha)) {
                throw ApiException.unprocessable("sha256_mismatch", "the body's sha256 is " + sha + ", not the "
                        + "stated " + statedSha + "; the archive was damaged or truncated on its way: send it again",
                        List.of());
            }
            if (!startsWithMagic(tmp)) {
                throw ApiException.unprocessable("not_an_archive", "the body is not a pg_dump custom-format "
                        + "archive; upload the file GET schema-archive returned on the source", List.of());
            }
            if (files.dumpSha256().equals(Optional.of(sha))) {
                return new UploadResult(false, sha, size, null);
            }
            files.storeDump(tmp, sha);
            return new UploadResult(true, sha, size, null);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    UploadResult manifest(MigrationId migration, InputStream body) throws IOException {
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        MessageDigest md = ArchiveFiles.sha256();
        long size = copy(body, buffer, md, MAX_MANIFEST_BYTES);
        if (size == 0) {
            throw new BadRequestException("body", "send the manifest JSON as the request body");
        }
        Manifest manifest = JsonBody.parse(buffer.toByteArray(), Manifest.class);
        if (manifest.format() != Manifest.FORMAT) {
            throw ApiException.unprocessable("manifest_unsupported", "manifest format " + manifest.format()
                    + " is not " + Manifest.FORMAT + "; use source and target agents of the same version", List.of());
        }
        if (!migration.value().equals(manifest.migration())) {
            throw ApiException.unprocessable("manifest_mismatch", "the manifest belongs to migration "
                    + manifest.migration() + ", not " + migration, List.of());
        }
        ArchiveFiles files = new ArchiveFiles(stateDir, migration);
        if (!files.dumpSha256().equals(Optional.of(manifest.archiveSha256()))) {
            throw ApiException.unprocessable("archive_manifest_mismatch", "the manifest describes archive "
                    + manifest.archiveSha256() + ", which is not the archive uploaded here; upload the archive "
                    + "first, then its manifest", List.of());
        }
        boolean changed = !files.manifest().equals(Optional.of(manifest));
        if (changed) {
            files.storeManifest(manifest);
        }
        return new UploadResult(changed, manifest.archiveSha256(), size, manifest.entries().size());
    }

    /** @throws ApiException 413 {@code body_too_large} past {@code limit} bytes */
    private static long copy(InputStream in, OutputStream out, MessageDigest md, long limit) throws IOException {
        byte[] buf = new byte[64 * 1024];
        long total = 0;
        for (int n; (n = in.read(buf)) > 0; ) {
            total += n;
            if (total > limit) {
                throw new ApiException(413, "body_too_large", "Payload Too Large", "the body is larger than the "
                        + limit / (1024 * 1024) + " MiB this endpoint accepts");
            }
            md.update(buf, 0, n);
            out.write(buf, 0, n);
        }
        return total;
    }

    private static boolean startsWithMagic(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return Arrays.equals(in.readNBytes(MAGIC.length), MAGIC);
        }
    }
}
