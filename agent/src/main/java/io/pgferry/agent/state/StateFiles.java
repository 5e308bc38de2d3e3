package io.pgferry.agent.state;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Set;

/**
 * Every file the agent keeps under {@code state_dir}: schema dumps, manifests, fence records, fingerprints, the
 * pgpass file. Directories are 0700 and files 0600 whatever the process's umask (a umask only ever removes bits,
 * and the mode is set again after creation), so a dump of the schema is never readable by other users.
 * A file is written under a fresh random name, created exclusively ({@code O_EXCL}: a name planted in advance,
 * symlink or not, makes the creation fail instead of being written through), then renamed over its final name
 * ({@code rename(2)} replaces a symlink there instead of following it).
 */
public final class StateFiles {
    public static final Set<PosixFilePermission> DIRECTORY = PosixFilePermissions.fromString("rwx------");
    public static final Set<PosixFilePermission> FILE = PosixFilePermissions.fromString("rw-------");
    private static final FileAttribute<Set<PosixFilePermission>> DIRECTORY_MODE =
            PosixFilePermissions.asFileAttribute(DIRECTORY);
    private static final FileAttribute<Set<PosixFilePermission>> FILE_MODE = PosixFilePermissions.asFileAttribute(FILE);

    private StateFiles() {
    }

    /**
     * The directory, made (with its missing parents) 0700, or made 0700 if it exists with more. A symlink in its
     * place is refused: the agent would otherwise write wherever it points.
     */
    public static Path directory(Path dir) throws IOException {
        if (Files.isSymbolicLink(dir)) {
            throw new IOException(dir + " is a symbolic link; the agent keeps its state only in real directories");
        }
        Files.createDirectories(dir, DIRECTORY_MODE);
        if (!Files.getPosixFilePermissions(dir, LinkOption.NOFOLLOW_LINKS).equals(DIRECTORY)) {
            Files.setPosixFilePermissions(dir, DIRECTORY);
        }
        return dir;
    }

    /** A new empty file, 0600, under a random name starting with {@code prefix}, in {@code dir} (made 0700). */
    public static Path newTemp(Path dir, String prefix) throws IOException {
        directory(dir);
        Path tmp = Files.createTempFile(dir, "." + prefix + ".", ".tmp", FILE_MODE);
        Files.setPosixFilePermissions(tmp, FILE);
        return tmp;
    }

    /**
     * {@code dir/<prefix><hash of the database name>.json}: a database's own record in a migration's directory (one
     * agent may serve both sides of a migration within one server; a name never becomes a path).
     */
    public static Path perDatabase(Path dir, String prefix, String database) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(database.getBytes(StandardCharsets.UTF_8));
            return dir.resolve(prefix + HexFormat.of().formatHex(h, 0, 8) + ".json");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** {@code content} as the whole of {@code target}, all or nothing: written beside it, then renamed over it. */
    public static void write(Path target, byte[] content) throws IOException {
        Path tmp = newTemp(target.getParent(), target.getFileName().toString());
        try {
            Files.write(tmp, content, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING,
                    LinkOption.NOFOLLOW_LINKS);
            moveIntoPlace(tmp, target);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    public static void write(Path target, String content) throws IOException {
        write(target, content.getBytes(StandardCharsets.UTF_8));
    }

    /** Renames a finished file over {@code target} atomically; a reader sees the old file or the new, never half. */
    public static void moveIntoPlace(Path tmp, Path target) throws IOException {
        Files.setPosixFilePermissions(tmp, FILE);
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** A regular file itself, not a symlink to one (which could point anywhere the agent may read). */
    public static boolean isRegularFile(Path file) {
        return Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS);
    }

    /** Creates {@code file} exclusively, 0600; false when something (file, directory, symlink) is there already. */
    public static boolean createExclusively(Path file) throws IOException {
        directory(file.getParent());
        try {
            Files.createFile(file, FILE_MODE);
        } catch (FileAlreadyExistsException e) {
            return false;
        }
        Files.setPosixFilePermissions(file, FILE);
        return true;
    }
}
