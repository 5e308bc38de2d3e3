package io.pgferry.agent.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgferry.agent.config.AgentConfig;
import io.pgferry.agent.http.ProblemMapper;
import io.pgferry.agent.jobs.JobRunner;
import io.pgferry.agent.jobs.JobState;
import io.pgferry.agent.jobs.JobView;
import io.pgferry.agent.migration.MigrationId;
import io.pgferry.agent.schemaarchive.Tools;
import io.pgferry.agent.testbed.AgentFixture;
import io.pgferry.agent.testbed.PgBed;
import io.pgferry.agent.testbed.PgCluster;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The tools the agent runs never outlive it and never race one left behind (issue #17 item 4), on a real server: a
 * psql sleeping in {@code pg_sleep} stands for a pg_restore building an index - a client program with a session that
 * keeps working server-side whatever happens to the client.
 */
@PgBed(major = 16)
class PgProcessTest {
    static PgCluster cluster;
    @TempDir
    static Path dir;
    static AgentConfig config;

    @BeforeAll
    static void config() throws Exception {
        config = AgentFixture.configFor(cluster, dir, AgentFixture.secretFile(dir, "token", AgentFixture.newToken()),
                AgentFixture.freePort());
        Files.createDirectories(config.stateDir());
    }

    private static List<String> sleep() {
        return List.of("-X", "-q", "-c", "SELECT pg_sleep(600)");
    }

    private static List<Integer> sessions(String application) throws Exception {
        try (Connection c = cluster.connect("postgres");
             PreparedStatement ps = c.prepareStatement(
                     "SELECT pid FROM pg_stat_activity WHERE application_name = ? ORDER BY pid")) {
            ps.setString(1, application);
            List<Integer> pids = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    pids.add(rs.getInt(1));
                }
            }
            return pids;
        }
    }

    private static void await(String what, Duration limit, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "not within " + limit.toSeconds() + " s: " + what);
            Thread.sleep(50);
        }
    }

    private static boolean noSessions(String application) {
        try {
            return sessions(application).isEmpty();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** psql processes under this JVM: what a tool the agent started would be. */
    private static List<ProcessHandle> psqlChildren() {
        return ProcessHandle.current().descendants()
                .filter(p -> p.info().command().map(c -> c.endsWith("/psql")).orElse(false)).toList();
    }

    @Test
    void aShutdownStopsTheRunningToolAndItsSessionAndTheJobUnwinds() throws Exception {
        PgProcess tools = new PgProcess(config.postgres(), config.stateDir(), JobRunner::currentJob);
        JobRunner jobs = new JobRunner(ProblemMapper::known);
        String app = "pgferry:post-data:stopme";
        JobView job = jobs.submit("post-data", new MigrationId("stopme"), "r", p -> Tools.check("psql", tools.run(
                cluster.binDir().resolve("psql"), sleep(), "postgres", true, Duration.ofMinutes(10))));
        await("the tool's session is on the server", Duration.ofSeconds(30), () -> !noSessions(app));
        assertEquals(1, psqlChildren().size(), "one psql under the agent");

        long started = System.nanoTime();
        tools.close();  // what Agent.close() does first
        jobs.close();
        assertTrue(Duration.ofNanos(System.nanoTime() - started).toSeconds() < 20, "stopped within the grace period");
        assertEquals(List.of(), psqlChildren(), "no tool process outlives the agent");
        await("its session is gone", Duration.ofSeconds(10), () -> noSessions(app));
        assertEquals(JobState.FAILED, jobs.find(job.id()).orElseThrow().state());
        assertFalse(Files.list(config.stateDir()).anyMatch(p -> p.getFileName().toString().startsWith("pgprocess")),
                "its output captures are removed");
    }

    @Test
    void anInterruptedJobStopsItsTool() throws Exception {
        try (PgProcess tools = new PgProcess(config.postgres(), config.stateDir(), JobRunner::currentJob)) {
            JobRunner jobs = new JobRunner(ProblemMapper::known);
            String app = "pgferry:schema-apply:interrupt";
            jobs.submit("schema-apply", new MigrationId("interrupt"), "r", p -> tools.run(
                    cluster.binDir().resolve("psql"), sleep(), "postgres", true, Duration.ofMinutes(10)));
            await("the tool's session is on the server", Duration.ofSeconds(30), () -> !noSessions(app));
            jobs.close();  // interrupts the job thread waiting for the tool
            assertEquals(List.of(), psqlChildren());
            await("its session is gone", Duration.ofSeconds(10), () -> noSessions(app));
        }
    }

    @Test
    void aRunEndsTheSessionsAnEarlierRunOfItsJobLeftBehind() throws Exception {
        // What an agent killed without its shutdown leaves when the tool survives it: a client still running with
        // the job's application_name (its index build going on server-side).
        String app = "pgferry:post-data:orphan";
        ProcessBuilder pb = new ProcessBuilder(cluster.binDir().resolve("psql").toString(), "-X", "-q", "-h",
                cluster.host(), "-p", Integer.toString(cluster.port()), "-U", cluster.superuser(), "-d", "postgres",
                "-c", "SELECT pg_sleep(600)").redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD);
        pb.environment().put("PGAPPNAME", app);
        pb.environment().put("PGPASSWORD", cluster.superuserPassword());
        Process orphan = pb.start();
        try (PgProcess tools = new PgProcess(config.postgres(), config.stateDir(), JobRunner::currentJob);
             JobRunner jobs = new JobRunner(ProblemMapper::known)) {
            await("the orphan's session is on the server", Duration.ofSeconds(30), () -> !noSessions(app));
            JobView job = jobs.submit("post-data", new MigrationId("orphan"), "r", p -> tools.run(
                    cluster.binDir().resolve("psql"), List.of("-X", "-q", "-c", "SELECT 1"), "postgres", true,
                    Duration.ofMinutes(1)));
            JobView done = jobs.await(job.id(), 60);
            assertEquals(JobState.SUCCEEDED, done.state(), String.valueOf(done.error()));
            assertTrue(noSessions(app), "the orphan's session was ended before the new run");
            assertTrue(orphan.waitFor(10, TimeUnit.SECONDS), "the orphan lost its session and exited");
        } finally {
            orphan.destroyForcibly();
        }
    }

    @Test
    void filesAKilledAgentLeftHalfWrittenAreRemovedAtStart() throws Exception {
        Path state = dir.resolve("leftovers");
        Path migration = Files.createDirectories(state.resolve("app"));
        List<Path> left = List.of(Files.createFile(migration.resolve("use-list.tmp-0b1c")),
                Files.createFile(migration.resolve("schema.dump.tmp-77")), Files.createFile(state.resolve(
                        "pgprocess123.out")), Files.createFile(state.resolve("pgpass456.tmp")));
        List<Path> kept = List.of(Files.createFile(migration.resolve("schema.dump")),
                Files.createFile(migration.resolve("schema.manifest.json")), Files.createFile(state.resolve("pgpass")));
        PgProcess.removeLeftoverFiles(state);
        for (Path p : left) {
            assertFalse(Files.exists(p), p + " removed");
        }
        for (Path p : kept) {
            assertTrue(Files.exists(p), p + " kept");
        }
    }
}
