package io.pgferry.agent.schemaarchive;

import io.pgferry.agent.http.ApiException;
import io.pgferry.agent.http.JsonBody;
import io.pgferry.agent.migration.MigrationId;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Optional;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A migration's schema archive and manifest in {@code state_dir/{m}/}, on the source (written by pg_dump) and
 * on the target (uploaded). Every file is written beside its final name and renamed into place, so a reader
 * never sees half a file; the manifest goes last, so "manifest present" means "archive complete".
 */
public final class ArchiveFiles {
    private static final Logger LOG = LoggerFactory.getLogger(ArchiveFiles.class);
    public static final String DUMP = "schema.dump";
    public static final String MANIFEST = "schema.manifest.json";
    /** The archive's sha256, written beside it so it need not be rehashed on every read. */
    static final String DUMP_SHA = "schema.dump.sha256";

    private final Path dir;

    public ArchiveFiles(Path stateDir, MigrationId migration) {
        this.dir = stateDir.resolve(migration.value());
    }

    public Path dump() {
        return dir.resolve(DUMP);
    }

    /** A fresh file name in the migration's directory for writing before a rename. */
    public Path temp(String name) throws IOException {
        Files.createDirectories(dir);
        return dir.resolve(name + ".tmp-" + UUID.randomUUID());
    }

    /**
     * The stored manifest. One this agent cannot read (written by another version, or damaged) counts as
     * absent: the source then makes a new archive and the target asks for a new upload, instead of failing.
     */
    public Optional<Manifest> manifest() {
        Path file = dir.resolve(MANIFEST);
        if (!Files.isRegularFile(file)) {
            return Optional.empty();
        }
        try {
            return Optional.of(JsonBody.MAPPER.readValue(file.toFile(), Manifest.class));
        } catch (IOException e) {
            LOG.warn("ignoring unreadable manifest {} ({}); it will be replaced", file, e.getClass().getSimpleName());
            return Optional.empty();
        }
    }

    /** @throws ApiException 404 {@code archive_not_found} */
    public Manifest requireManifest() {
        return manifest().orElseThrow(() -> ApiException.notFound("archive_not_found",
                "no schema archive manifest for this migration on this agent; create (source) or upload (target) it"));
    }

    /** The sha256 of the stored archive, if there is one. */
    public Optional<String> dumpSha256() throws IOException {
        Path sha = dir.resolve(DUMP_SHA);
        return Files.isRegularFile(sha) && Files.isRegularFile(dump())
                ? Optional.of(Files.readString(sha).trim()) : Optional.empty();
    }

    /** Moves a finished archive into place; its manifest is dropped first, as it no longer describes it. */
    public void storeDump(Path tmp, String sha256) throws IOException {
        Files.deleteIfExists(dir.resolve(MANIFEST));
        Path shaTmp = temp(DUMP_SHA);
        Files.writeString(shaTmp, sha256 + "\n");
        move(tmp, dump());
        move(shaTmp, dir.resolve(DUMP_SHA));
    }

    public void storeManifest(Manifest manifest) throws IOException {
        Path tmp = temp(MANIFEST);
        JsonBody.MAPPER.writerWithDefaultPrettyPrinter().writeValue(tmp.toFile(), manifest);
        move(tmp, dir.resolve(MANIFEST));
    }

    private static void move(Path from, Path to) throws IOException {
        Files.move(from, to, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    public static String sha256(Path file) throws IOException {
        MessageDigest md = sha256();
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), md)) {
            in.transferTo(OutputStream.nullOutputStream());
        }
        return HexFormat.of().formatHex(md.digest());
    }

    public static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java runtime has SHA-256", e);
        }
    }
}
