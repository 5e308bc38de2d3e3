package io.pgferry.agent.schemaarchive;

import io.pgferry.agent.json.Json;
import io.pgferry.agent.migration.ManifestScope;
import io.pgferry.agent.migration.ManifestScopes;
import io.pgferry.agent.migration.MigrationId;
import io.pgferry.agent.migration.TableRef;
import io.pgferry.agent.problem.ApiException;
import io.pgferry.agent.state.StateFiles;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A migration's schema archive and signed manifest in {@code state_dir/{m}/}, on the source (written by pg_dump) and
 * on the target (uploaded). Every file is written beside its final name and renamed into place, so a reader never
 * sees half a file; the manifest goes last, so "manifest present" means "archive complete".
 *
 * <p>Beside a stored manifest lies a copy of the archive it vouches for, {@code schema-<sha256>.dump}, made by
 * copying the archive while hashing it: restores read only that copy ({@link #pinned}), so an archive uploaded while
 * a restore runs can never be what the restore executes.
 */
public final class ArchiveFiles {
    private static final Logger LOG = LoggerFactory.getLogger(ArchiveFiles.class);
    public static final String DUMP = "schema.dump";
    public static final String MANIFEST = "schema.manifest.json";
    /** The archive's sha256, written beside it so it need not be rehashed on every read. */
    static final String DUMP_SHA = "schema.dump.sha256";
    private static final String PINNED_PREFIX = "schema-";
    private static final String PINNED_SUFFIX = ".dump";

    private final Path dir;
    private final MigrationId migration;
    /** The archive a restore reads: the pinned copy, or null for the current archive. */
    private final Path pinned;

    public ArchiveFiles(Path stateDir, MigrationId migration) {
        this(stateDir.resolve(migration.value()), migration, null);
    }

    private ArchiveFiles(Path dir, MigrationId migration, Path pinned) {
        this.dir = dir;
        this.migration = migration;
        this.pinned = pinned;
    }

    /** The archive: the current one, or in a {@link #pinned} view the verified copy. */
    public Path dump() {
        return pinned != null ? pinned : dir.resolve(DUMP);
    }

    /** A new empty file (0600, random name, created exclusively) in the migration's directory. */
    public Path temp(String name) throws IOException {
        return StateFiles.newTemp(dir, name);
    }

    /**
     * The stored manifest. One this agent cannot read (unsigned, written by another version, or damaged) counts as
     * absent: the source then makes a new archive and the target asks for a new upload, instead of failing.
     */
    public Optional<Manifest> manifest() {
        return manifestFile().flatMap(this::parse);
    }

    /** The stored manifest document exactly as signed: what {@code GET schema-archive/manifest} serves. */
    public Optional<Path> manifestFile() {
        Path file = dir.resolve(MANIFEST);
        return StateFiles.isRegularFile(file) ? Optional.of(file) : Optional.empty();
    }

    /** Parsed as it is read: a manifest of thousands of tables is tens of MiB, never held whole as bytes. */
    private Optional<Manifest> parse(Path doc) {
        try {
            Optional<InputStream> unsigned = ArchiveKey.unsigned(doc);
            if (unsigned.isEmpty()) {
                LOG.warn("ignoring the unsigned manifest of migration {}; it will be replaced", migration);
                return Optional.empty();
            }
            try (InputStream in = unsigned.get()) {
                return Optional.of(Json.MAPPER.readValue(in, Manifest.class));
            }
        } catch (IOException | RuntimeException e) {
            LOG.warn("ignoring unreadable manifest of migration {} ({}); it will be replaced", migration,
                    e.getClass().getSimpleName());
            return Optional.empty();
        }
    }

    /** The scope each migration's stored manifest records, for the steps that work on it. */
    public static ManifestScopes scopes(Path stateDir) {
        return migration -> {
            Manifest m = new ArchiveFiles(stateDir, migration).requireManifest();
            List<ManifestScope.IdentityIndex> identityIndexes = m.section(TocEntry.POST_DATA).stream()
                    .filter(e -> Boolean.TRUE.equals(e.replicaIdentity()) && e.schema() != null && e.table() != null
                            && e.name() != null)
                    .map(e -> new ManifestScope.IdentityIndex(new TableRef(e.schema(), e.table()), e.name()))
                    .toList();
            return new ManifestScope(m.database(), m.schemas(), m.tables(), m.excludedTables(), identityIndexes);
        };
    }

    /** @throws ApiException 404 {@code archive_not_found} */
    public Manifest requireManifest() {
        return manifest().orElseThrow(() -> ApiException.notFound("archive_not_found",
                "no schema archive manifest for this migration on this agent; create (source) or upload (target) it"));
    }

    /** Whether the stored manifest carries a valid signature of this key. */
    boolean signedWith(ArchiveKey key) {
        Optional<Path> doc = manifestFile();
        try {
            return doc.isPresent() && key.verifies(migration, doc.get());
        } catch (IOException e) {
            return false;
        }
    }

    /** The sha256 of the stored archive, if there is one. */
    public Optional<String> dumpSha256() throws IOException {
        Path sha = dir.resolve(DUMP_SHA);
        return StateFiles.isRegularFile(sha) && StateFiles.isRegularFile(dir.resolve(DUMP))
                ? Optional.of(Files.readString(sha).trim()) : Optional.empty();
    }

    /** Moves a finished archive into place; its manifest is dropped first, as it no longer describes it. */
    public void storeDump(Path tmp, String sha256) throws IOException {
        Files.deleteIfExists(dir.resolve(MANIFEST));
        Path shaTmp = temp(DUMP_SHA);
        try {
            Files.writeString(shaTmp, sha256 + "\n", StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
            StateFiles.moveIntoPlace(tmp, dir.resolve(DUMP));
            StateFiles.moveIntoPlace(shaTmp, dir.resolve(DUMP_SHA));
        } finally {
            Files.deleteIfExists(shaTmp);
        }
    }

    /** Source: signs the manifest of the archive just stored and stores both. */
    void storeManifest(Manifest manifest, ArchiveKey key) throws IOException {
        Path tmp = temp(MANIFEST);
        try {
            key.signTo(migration, tmp, out -> Json.MAPPER.writeValue(out, manifest));
            storeVerifiedManifest(tmp, manifest);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /**
     * Moves a manifest document whose signature was checked into place, after pinning a copy of the archive it
     * describes.
     *
     * @throws ApiException 422 {@code archive_manifest_mismatch} when the stored archive is not the manifest's
     */
    public void storeVerifiedManifest(Path document, Manifest manifest) throws IOException {
        if (!dumpSha256().equals(Optional.of(manifest.archiveSha256())) || !pin(manifest.archiveSha256())) {
            throw ApiException.unprocessable("archive_manifest_mismatch", "the manifest describes archive "
                    + manifest.archiveSha256() + ", which is not the archive stored here; upload the archive first, "
                    + "then its manifest", List.of());
        }
        StateFiles.moveIntoPlace(document, dir.resolve(MANIFEST));
    }

    /**
     * Copies the current archive to {@code schema-<sha>.dump} if its bytes hash to {@code sha}, and removes the
     * copies of other archives. The copy is hashed as it is written, so it holds exactly the bytes checked.
     */
    private boolean pin(String sha) throws IOException {
        Path target = pinnedPath(sha);
        if (!StateFiles.isRegularFile(target) || !sha.equals(sha256(target))) {
            Path tmp = temp(PINNED_PREFIX + "copy");
            try {
                MessageDigest md = sha256();
                try (InputStream in = new DigestInputStream(Files.newInputStream(dir.resolve(DUMP),
                        LinkOption.NOFOLLOW_LINKS), md);
                     OutputStream out = Files.newOutputStream(tmp, StandardOpenOption.WRITE,
                             StandardOpenOption.TRUNCATE_EXISTING, LinkOption.NOFOLLOW_LINKS)) {
                    in.transferTo(out);
                }
                if (!sha.equals(HexFormat.of().formatHex(md.digest()))) {
                    return false;
                }
                StateFiles.moveIntoPlace(tmp, target);
            } finally {
                Files.deleteIfExists(tmp);
            }
        }
        try (DirectoryStream<Path> old = Files.newDirectoryStream(dir, PINNED_PREFIX + "*" + PINNED_SUFFIX)) {
            for (Path p : old) {
                if (!p.equals(target)) {
                    Files.deleteIfExists(p);
                }
            }
        }
        return true;
    }

    /**
     * A view whose {@link #dump()} is the verified copy of the archive the manifest names, hashed again now.
     *
     * @throws ApiException 404 {@code archive_not_found} when there is no such copy, or it changed
     */
    public ArchiveFiles pinned(Manifest manifest) {
        Path copy = pinnedPath(manifest.archiveSha256());
        try {
            if (StateFiles.isRegularFile(copy) && manifest.archiveSha256().equals(sha256(copy))) {
                return new ArchiveFiles(dir, migration, copy);
            }
        } catch (IOException e) {
            LOG.warn("cannot read {} ({})", copy, e.getClass().getSimpleName());
        }
        throw ApiException.notFound("archive_not_found", "the archive described by the manifest ("
                + manifest.archiveSha256() + ") is not on this agent; upload it, then its manifest");
    }

    private Path pinnedPath(String sha) {
        if (!sha.matches("[0-9a-f]{64}")) {
            throw new IllegalArgumentException("not a sha256: " + sha);
        }
        return dir.resolve(PINNED_PREFIX + sha + PINNED_SUFFIX);
    }

    public static String sha256(Path file) throws IOException {
        MessageDigest md = sha256();
        try (InputStream in = new DigestInputStream(Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS), md)) {
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
