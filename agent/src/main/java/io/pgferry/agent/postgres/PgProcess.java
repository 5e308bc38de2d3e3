package io.pgferry.agent.postgres;

import io.pgferry.agent.config.PostgresConfig;
import io.pgferry.agent.state.StateFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a PostgreSQL client program (pg_dump, pg_restore) against the local server. The password travels in a
 * pgpass file (0600, in the state directory), never in argv or the environment, which other local users can
 * read through /proc.
 *
 * <p>A program never outlives the agent, and never races one an earlier agent left running. Inside a job its
 * sessions carry {@code application_name = pgferry:<job id>}; before it starts, sessions of that name still on the
 * server (an agent killed while a pg_restore ran: its index builds go on server-side) are ended. On shutdown
 * ({@link #close()}) and on an interrupted or timed-out run, the program and every process under it get SIGTERM
 * (pg_dump and pg_restore then cancel their queries), SIGKILL after a grace period, and their sessions are ended.
 * Where util-linux's {@code setpriv} is installed, the program also gets SIGTERM when the agent dies without a
 * shutdown (SIGKILL, OOM killer): {@code --pdeathsig TERM}.
 */
public final class PgProcess implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(PgProcess.class);
    /** application_name of the agent's own sessions and of tools run outside a job. */
    public static final String AGENT_APPLICATION = "pgferry-agent";
    /** How long a stopped program may take to cancel its queries and exit before it is killed. */
    static final Duration GRACE = Duration.ofSeconds(10);
    /** How long the sessions of an earlier run may take to end once terminated. */
    private static final Duration LEFTOVER_WAIT = Duration.ofSeconds(30);
    /** A backend exits a moment after its program did; sessions of a run ended this recently are not leftovers. */
    private static final Duration RECENT = Duration.ofSeconds(2);

    private final PostgresConfig config;
    private final Path stateDir;
    private final PgConnector connector;
    private final Supplier<Optional<String>> currentJob;
    private final List<String> launcher;
    private final Set<Running> running = ConcurrentHashMap.newKeySet();
    /** When a run of each application_name last ended here: its backends may take a moment to exit. */
    private final Map<String, Long> endedAt = new ConcurrentHashMap<>();
    private volatile boolean closed;

    /** @param currentJob the id of the job the calling thread runs, if any (jobs.JobRunner::currentJob) */
    public PgProcess(PostgresConfig config, Path stateDir, Supplier<Optional<String>> currentJob) {
        this.config = config;
        this.stateDir = stateDir;
        this.connector = new PgConnector(config);
        this.currentJob = currentJob;
        this.launcher = deathSignalLauncher();
    }

    /** The result of a run; {@code stderr} is the program's own diagnostics (no password is ever in them). */
    public record Result(int exitCode, String stdout, String stderr) {
        public boolean ok() {
            return exitCode == 0;
        }
    }

    /** A program running now, with the application_name its sessions carry. */
    private record Running(Process process, String application, String program) {
    }

    /** The application_name of the programs the current thread runs: its job's, else the agent's. */
    private String applicationName() {
        return currentJob.get().map(id -> "pgferry:" + id).orElse(AGENT_APPLICATION);
    }

    /**
     * @param program e.g. {@code bin/pg_restore}
     * @param args arguments after the connection options; must never hold a secret
     * @param connect whether to add host, port, user and database options
     * @throws PostgresException {@code SHUTTING_DOWN}, {@code TOOL_TIMEOUT}, {@code TOOL_STILL_RUNNING} when sessions
     *                           of an earlier run of the same job cannot be ended, {@code TOOL_FAILED}
     */
    public Result run(Path program, List<String> args, String database, boolean connect, Duration timeout) {
        return run(program, args, database, connect, timeout, null);
    }

    /**
     * As {@link #run(Path, List, String, boolean, Duration)}, with the standard output left in {@code stdout} (the
     * caller reads it as a stream and removes it) instead of returned: a restore script or TOC listing of thousands
     * of tables is tens of MiB, too much to hold whole. The result's {@code stdout} is then empty.
     */
    public Result runToFile(Path program, List<String> args, String database, boolean connect, Duration timeout,
                            Path stdout) {
        return run(program, args, database, connect, timeout, Objects.requireNonNull(stdout));
    }

    private Result run(Path program, List<String> args, String database, boolean connect, Duration timeout,
                       Path stdoutFile) {
        if (closed) {
            throw PostgresException.shuttingDown(null);
        }
        String application = applicationName();
        if (connect && !AGENT_APPLICATION.equals(application)) {
            endLeftovers(application);
        }
        List<String> cmd = new ArrayList<>(launcher);
        cmd.add(program.toString());
        if (connect) {
            cmd.addAll(List.of("--host", config.host(), "--port", Integer.toString(config.port()),
                    "--username", config.user(), "--no-password", "--dbname", database));
        }
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd);
        Map<String, String> env = pb.environment();
        env.keySet().removeIf(k -> k.startsWith("PG"));
        env.put("PGAPPNAME", application);
        env.put("PGCONNECT_TIMEOUT", "10");
        try {
            env.put("PGPASSFILE", pgpass().toString());
            Path out = stdoutFile != null ? stdoutFile : StateFiles.newTemp(stateDir, "pgprocess-out");
            Path err = StateFiles.newTemp(stateDir, "pgprocess-err");
            Running run = null;
            try {
                pb.redirectOutput(out.toFile()).redirectError(err.toFile()).redirectInput(ProcessBuilder.Redirect.from(
                        Path.of("/dev/null").toFile()));
                LOG.info("running {} {}", program.getFileName(), String.join(" ", args));
                run = new Running(pb.start(), application, program.getFileName().toString());
                running.add(run);
                if (closed) {  // close() ran between the check above and the start: it did not see this one
                    stop(run);
                    throw PostgresException.shuttingDown(null);
                }
                if (!run.process().waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                    stop(run);
                    throw PostgresException.toolTimeout(program.getFileName() + " did not finish within "
                            + timeout.toSeconds() + " s");
                }
                return new Result(run.process().exitValue(),
                        stdoutFile != null ? "" : Files.readString(out, StandardCharsets.UTF_8),
                        Files.readString(err, StandardCharsets.UTF_8));
            } catch (InterruptedException e) {
                if (run != null) {
                    stop(run);
                }
                Thread.currentThread().interrupt();
                throw PostgresException.shuttingDown(e);
            } finally {
                if (run != null) {
                    running.remove(run);
                    endedAt.put(application, System.nanoTime());
                }
                if (stdoutFile == null) {
                    Files.deleteIfExists(out);
                }
                Files.deleteIfExists(err);
            }
        } catch (IOException e) {
            throw PostgresException.toolFailed("could not run " + program.getFileName() + "; see the agent's log", e);
        }
    }

    /** Stops every program still running, and refuses new ones: the agent is shutting down. */
    @Override
    public void close() {
        closed = true;
        for (Running run : List.copyOf(running)) {
            stop(run);
        }
    }

    /**
     * SIGTERM to the program and every process under it (pg_restore's parallel workers), SIGKILL to what is left
     * after {@link #GRACE}, then its sessions ended: a backend whose client was killed keeps building its index.
     */
    private void stop(Running run) {
        ProcessHandle root = run.process().toHandle();
        List<ProcessHandle> tree = new ArrayList<>(root.descendants().toList());  // before the root dies: then
        tree.add(0, root);                                                          // they belong to init
        LOG.warn("stopping {} (pid {}) and {} process(es) under it", run.program(), root.pid(), tree.size() - 1);
        tree.forEach(ProcessHandle::destroy);
        long deadline = System.nanoTime() + GRACE.toNanos();
        for (ProcessHandle p : tree) {
            try {
                p.onExit().get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            } catch (Exception e) {
                // not gone within the grace period: killed below
            }
        }
        tree.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroyForcibly);
        if (!AGENT_APPLICATION.equals(run.application())) {
            try {
                terminateSessions(run.application());
            } catch (RuntimeException e) {
                LOG.warn("could not end the sessions of {}: {}", run.application(), e.getMessage());
            }
        }
    }

    /**
     * Ends the sessions an earlier run of the same job left on the server and waits until they are gone, so this
     * run does not race them (two pg_restores creating the same index fail with a duplicate key in pg_class).
     */
    private void endLeftovers(String application) {
        Long ended = endedAt.get(application);
        if (ended != null && System.nanoTime() - ended < RECENT.toNanos()) {
            // The previous program of this job just exited; its backends may still be on their way out.
            long deadline = System.nanoTime() + RECENT.toNanos();
            while (!sessions(application).isEmpty() && System.nanoTime() < deadline) {
                pause(50);
            }
        }
        List<Integer> pids = terminateSessions(application);
        if (pids.isEmpty()) {
            return;
        }
        LOG.warn("ended {} session(s) of an earlier {} run still on the server (the agent stopped while it ran): "
                + "pids {}", pids.size(), application, pids);
        long deadline = System.nanoTime() + LEFTOVER_WAIT.toNanos();
        while (!(pids = sessions(application)).isEmpty()) {
            if (System.nanoTime() > deadline) {
                throw PostgresException.toolStillRunning("sessions of an earlier " + application
                        + " run are still on the server after " + LEFTOVER_WAIT.toSeconds() + " s (pids " + pids
                        + "); end them (SELECT pg_terminate_backend(pid)) and retry", pids.stream()
                        .map(p -> "pid " + p).toList());
            }
            pause(100);
        }
    }

    private static void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw PostgresException.shuttingDown(e);
        }
    }

    /** pg_terminate_backend of every session with this application_name; the pids it was sent to. */
    private List<Integer> terminateSessions(String application) {
        List<Integer> pids = sessions(application);
        if (pids.isEmpty()) {
            return pids;
        }
        try (Connection c = connector.open(Duration.ofSeconds(10));
             PreparedStatement ps = c.prepareStatement("SELECT pg_terminate_backend(?)")) {
            for (int pid : pids) {
                ps.setInt(1, pid);
                ps.executeQuery().close();
            }
            return pids;
        } catch (SQLException e) {
            throw connector.translate(e);
        }
    }

    private List<Integer> sessions(String application) {
        try (Connection c = connector.open(Duration.ofSeconds(10));
             PreparedStatement ps = c.prepareStatement("SELECT pid FROM pg_catalog.pg_stat_activity "
                     + "WHERE application_name = ? AND pid <> pg_backend_pid() ORDER BY pid")) {
            ps.setString(1, application);
            List<Integer> pids = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    pids.add(rs.getInt(1));
                }
            }
            return pids;
        } catch (SQLException e) {
            throw connector.translate(e);
        }
    }

    /**
     * {@code setpriv --pdeathsig TERM} when it works here (util-linux 2.33+): the kernel then signals the program
     * when the thread that started it dies, which also covers an agent killed with SIGKILL.
     */
    private static List<String> deathSignalLauncher() {
        for (String dir : List.of("/usr/bin", "/bin")) {
            Path setpriv = Path.of(dir, "setpriv");
            if (!Files.isExecutable(setpriv)) {
                continue;
            }
            List<String> launcher = List.of(setpriv.toString(), "--pdeathsig", "TERM");
            try {
                List<String> probe = new ArrayList<>(launcher);
                probe.add("true");
                Process p = new ProcessBuilder(probe).redirectErrorStream(true)
                        .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
                if (p.waitFor(5, TimeUnit.SECONDS) && p.exitValue() == 0) {
                    return launcher;
                }
                p.destroyForcibly();
            } catch (IOException e) {
                LOG.debug("setpriv unusable: {}", e.toString());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        LOG.info("setpriv --pdeathsig is not available: a tool the agent runs is stopped on shutdown, but not when "
                + "the agent is killed with SIGKILL (the next run of its step ends its sessions)");
        return List.of();
    }

    /**
     * Removes what a killed agent left half-written in the state directory: the programs' output captures and
     * pgpass files being replaced, and the {@code *.tmp-*} files steps write before renaming them into place (a
     * pg_restore use-list, an archive on its way). Called at start, before any request can be running.
     */
    public static void removeLeftoverFiles(Path stateDir) throws IOException {
        if (!Files.isDirectory(stateDir)) {
            return;
        }
        List<Path> leftovers = new ArrayList<>();
        try (DirectoryStream<Path> top = Files.newDirectoryStream(stateDir)) {
            for (Path p : top) {
                String name = p.getFileName().toString();
                if (Files.isRegularFile(p) && (name.matches("pgprocess.*\\.(out|err)") || name.matches(
                        "pgpass.*\\.tmp") || name.matches("\\..+\\.tmp"))) {
                    leftovers.add(p);
                } else if (Files.isDirectory(p)) {
                    try (DirectoryStream<Path> inner = Files.newDirectoryStream(p, "{*.tmp-*,.*.tmp}")) {
                        inner.forEach(leftovers::add);
                    }
                }
            }
        }
        for (Path p : leftovers) {
            if (Files.isRegularFile(p)) {
                Files.deleteIfExists(p);
                LOG.info("removed {}, left by an agent that stopped while writing it", p);
            }
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
