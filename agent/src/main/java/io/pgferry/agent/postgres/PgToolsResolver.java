package io.pgferry.agent.postgres;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Finds the pg_dump to use against a server of a given major version. pg_dump refuses servers newer than
 * itself, so the chosen pg_dump's major must be at least the server's.
 */
public final class PgToolsResolver {
    private static final Pattern VERSION = Pattern.compile("\\(PostgreSQL\\)\\s+(\\d+)(?:\\.(\\d+))?\\S*");

    private final Optional<Path> configured;
    private final String searchPath;

    /**
     * @param configured pg_bin_dir from the config, if set
     * @param searchPath the PATH to search last (the process's own, or a test's)
     */
    public PgToolsResolver(Optional<Path> configured, String searchPath) {
        this.configured = configured;
        this.searchPath = searchPath == null ? "" : searchPath;
    }

    public PgTools resolve(int serverMajor) throws PgToolsException {
        if (configured.isPresent()) {
            Path dir = configured.get();
            PgTools tools = probe(dir, "configured");
            if (tools == null) {
                throw new PgToolsException("pg_bin_dir " + dir + " holds no working pg_dump; set pg_bin_dir to the"
                        + " bin directory of PostgreSQL " + serverMajor + " or newer");
            }
            if (tools.pgDumpMajor() < serverMajor) {
                throw new PgToolsException("pg_bin_dir " + dir + " has pg_dump " + tools.pgDumpVersion()
                        + ", older than the server's major " + serverMajor + "; install the PostgreSQL "
                        + serverMajor + " client programs and point pg_bin_dir at them");
            }
            return tools;
        }
        List<String> tried = new ArrayList<>();
        for (Path dir : candidates(serverMajor)) {
            PgTools tools = probe(dir, "detected");
            if (tools == null) {
                continue;
            }
            if (tools.pgDumpMajor() >= serverMajor) {
                return tools;
            }
            tried.add(dir + " (pg_dump " + tools.pgDumpVersion() + ")");
        }
        throw new PgToolsException("no pg_dump of major " + serverMajor + " or newer found in /usr/lib/postgresql/"
                + serverMajor + "/bin, /usr/pgsql-" + serverMajor + "/bin or PATH"
                + (tried.isEmpty() ? "" : "; too old: " + String.join(", ", tried))
                + "; install the PostgreSQL " + serverMajor + " client programs or set pg_bin_dir");
    }

    private Set<Path> candidates(int major) {
        Set<Path> dirs = new LinkedHashSet<>();
        dirs.add(Path.of("/usr/lib/postgresql/" + major + "/bin"));
        dirs.add(Path.of("/usr/pgsql-" + major + "/bin"));
        for (String entry : searchPath.split(File.pathSeparator)) {
            if (!entry.isBlank()) {
                dirs.add(Path.of(entry));
            }
        }
        return dirs;
    }

    /** @return null when the directory has no pg_dump that runs and reports a version */
    static PgTools probe(Path dir, String source) {
        Path pgDump = dir.resolve("pg_dump");
        if (!Files.isExecutable(pgDump)) {
            return null;
        }
        try {
            Process p = new ProcessBuilder(pgDump.toString(), "--version").redirectErrorStream(true).start();
            p.getOutputStream().close();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return null;
            }
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            Matcher m = VERSION.matcher(out);
            if (p.exitValue() != 0 || !m.find()) {
                return null;
            }
            return new PgTools(dir.toAbsolutePath().normalize(), m.group().replaceFirst("\\(PostgreSQL\\)\\s+", ""),
                    Integer.parseInt(m.group(1)), source);
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }
}
