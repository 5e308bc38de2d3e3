package io.pgferry.agent.schemaarchive;

import io.pgferry.agent.migration.MigrationId;
import io.pgferry.agent.problem.ApiException;
import io.pgferry.agent.problem.BadRequestException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Stores what the source made, uploaded through Ansible: the archive (checked against the sha256 its sender
 * states), then its manifest, whose signature must be the source agent's (the key both agents hold) for this
 * migration and whose archive must be the one stored. Only then is the pair restorable: an archive edited on its way
 * (a COMMENT rewritten to {@code COPY ... TO PROGRAM}) has another sha256, and a manifest naming that sha256 would
 * need the key to sign. Both bodies are streamed to disk under their own limits and nothing is parsed before its
 * signature checks out; the server's 1 MiB limit stays for every JSON request.
 */
final class ArchiveUpload {
    /** A schema-only archive is small: 256 MiB holds hundreds of thousands of objects. */
    static final long MAX_ARCHIVE_BYTES = 256L * 1024 * 1024;
    static final long MAX_MANIFEST_BYTES = 64L * 1024 * 1024;
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
    /** Every pg_dump custom-format archive starts with these bytes. */
    private static final byte[] MAGIC = "PGDMP".getBytes(StandardCharsets.US_ASCII);

    private final Path stateDir;
    private final Optional<ArchiveKey> key;

    ArchiveUpload(Path stateDir, Optional<ArchiveKey> key) {
        this.stateDir = stateDir;
        this.key = key;
    }

    UploadResult archive(MigrationId migration, InputStream body, String statedSha) throws IOException {
        ArchiveKey.require(key);
        if (statedSha == null || !SHA256.matcher(statedSha).matches()) {
            throw new BadRequestException("X-Pgferry-Sha256", "send the archive's sha256 as 64 lower-case hex "
                    + "digits in the X-Pgferry-Sha256 header");
        }
        ArchiveFiles files = new ArchiveFiles(stateDir, migration);
        Path tmp = files.temp(ArchiveFiles.DUMP);
        try {
            MessageDigest md = ArchiveFiles.sha256();
            long size;
            try (InputStream in = body; OutputStream out = open(tmp)) {
                size = copy(in, out, md, null);
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

    /**
     * @throws ApiException 422 {@code manifest_unsigned}, {@code manifest_key_mismatch}, {@code manifest_signature_invalid}
     *     (checked before anything is parsed), then {@code manifest_unsupported}, {@code manifest_mismatch},
     *     {@code archive_manifest_mismatch}
     */
    UploadResult manifest(MigrationId migration, InputStream body) throws IOException {
        ArchiveKey k = ArchiveKey.require(key);
        ArchiveFiles files = new ArchiveFiles(stateDir, migration);
        Path tmp = files.temp(ArchiveFiles.MANIFEST);
        try {
            ManifestCheck check = ManifestCheck.start(k, migration);
            long size;
            try (InputStream in = body; OutputStream out = open(tmp)) {
                size = copy(in, out, null, check);
            }
            if (size == 0) {
                throw new BadRequestException("body", "send the manifest JSON as the request body");
            }
            Manifest manifest = check.verifiedManifest(tmp);
            if (manifest.format() != Manifest.FORMAT) {
                throw ApiException.unprocessable("manifest_unsupported", "manifest format " + manifest.format()
                        + " is not " + Manifest.FORMAT + "; use source and target agents of the same version",
                        List.of());
            }
            if (!migration.value().equals(manifest.migration())) {
                throw ApiException.unprocessable("manifest_mismatch", "the manifest belongs to migration "
                        + manifest.migration() + ", not " + migration, List.of());
            }
            Optional<Path> stored = files.manifestFile();
            boolean changed = stored.isEmpty() || Files.mismatch(stored.get(), tmp) != -1;
            // Stored again even when unchanged: that also checks the archive and makes its verified copy if missing.
            files.storeVerifiedManifest(tmp, manifest);
            return new UploadResult(changed, manifest.archiveSha256(), size, manifest.entries().size());
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static OutputStream open(Path tmp) throws IOException {
        return Files.newOutputStream(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING,
                LinkOption.NOFOLLOW_LINKS);
    }

    /** Copies the body to disk, hashing it and feeding it to the signature check; the limit is the stream's. */
    private static long copy(InputStream in, OutputStream out, MessageDigest md, ManifestCheck check)
            throws IOException {
        byte[] buf = new byte[64 * 1024];
        long total = 0;
        for (int n; (n = in.read(buf)) > 0; ) {
            total += n;
            if (md != null) {
                md.update(buf, 0, n);
            }
            if (check != null) {
                check.update(buf, 0, n);
            }
            out.write(buf, 0, n);
        }
        return total;
    }

    private static boolean startsWithMagic(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS)) {
            return Arrays.equals(in.readNBytes(MAGIC.length), MAGIC);
        }
    }
}
