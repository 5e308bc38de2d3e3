package io.pgferry.agent.postgres;

import io.pgferry.agent.config.PostgresConfig;
import io.pgferry.agent.http.ApiException;
import io.pgferry.agent.state.StateFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a PostgreSQL client program (pg_dump, pg_restore) against the local server. The password travels in a
 * pgpass file (0600, in the state directory), never in argv or the environment, which other local users can
 * read through /proc.
 */
public final class PgProcess {
    private static final Logger LOG = LoggerFactory.getLogger(PgProcess.class);

    private final PostgresConfig config;
    private final Path stateDir;

    public PgProcess(PostgresConfig config, Path stateDir) {
        this.config = config;
        this.stateDir = stateDir;
    }

    /** The result of a run; {@code stderr} is the program's own diagnostics (no password is ever in them). */
    public record Result(int exitCode, String stdout, String stderr) {
        public boolean ok() {
            return exitCode == 0;
        }
    }

    /**
     * @param program e.g. {@code bin/pg_restore}
     * @param args arguments after the connection options; must never hold a secret
     * @param connect whether to add host, port, user and database options
     */
    public Result run(Path program, List<String> args, String database, boolean connect, Duration timeout) {
        List<String> cmd = new ArrayList<>();
        cmd.add(program.toString());
        if (connect) {
            cmd.addAll(List.of("--host", config.host(), "--port", Integer.toString(config.port()),
                    "--username", config.user(), "--no-password", "--dbname", database));
        }
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd);
        Map<String, String> env = pb.environment();
        env.keySet().removeIf(k -> k.startsWith("PG"));
        env.put("PGAPPNAME", "pgferry-agent");
        env.put("PGCONNECT_TIMEOUT", "10");
        try {
            env.put("PGPASSFILE", pgpass().toString());
            Path out = StateFiles.newTemp(stateDir, "pgprocess-out");
            Path err = StateFiles.newTemp(stateDir, "pgprocess-err");
            try {
                pb.redirectOutput(out.toFile()).redirectError(err.toFile()).redirectInput(ProcessBuilder.Redirect.from(
                        Path.of("/dev/null").toFile()));
                LOG.info("running {} {}", program.getFileName(), String.join(" ", args));
                Process p = pb.start();
                if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                    p.destroyForcibly();
                    throw new ApiException(504, "tool_timeout", "Timed out",
                            program.getFileName() + " did not finish within " + timeout.toSeconds() + " s");
                }
                return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                        Files.readString(err, StandardCharsets.UTF_8));
            } finally {
                Files.deleteIfExists(out);
                Files.deleteIfExists(err);
            }
        } catch (IOException e) {
            throw new ApiException(500, "tool_failed", "Internal Server Error",
                    "could not run " + program.getFileName() + "; see the agent's log", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ApiException(503, "interrupted", "Service Unavailable", "the agent is shutting down", e);
        }
    }

    /** Written on each run so a password file change is picked up; 0600 from the start, never world-readable. */
    private Path pgpass() throws IOException {
        Path file = stateDir.resolve("pgpass");
        String password = config.password().map(s -> s.reveal()).orElse("");
        String line = "*:*:*:" + escape(config.user()) + ":" + escape(password) + "\n";
        StateFiles.write(file, line);
        return file;
    }

    private static String escape(String s) {
        return s.replace("\\", "\\\\").replace(":", "\\:");
    }
}
