package io.pgferry.agent.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.pgferry.agent.testbed.AgentHandle;
import io.pgferry.agent.testbed.ContainerBed;
import io.pgferry.agent.testbed.PgBedTool;
import io.pgferry.agent.testbed.PgCluster;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The replication script's own scenario — schema "included" with two tables, "excluded" with one, identity
 * keys, an index on a text column — moved between real servers of each version pair, with writes during and
 * after the copy, then rerun to prove that nothing changes the second time.
 */
class MigrationPairsTest {
    private static final List<String> EXCLUDED = List.of("excluded");

    /** The default suite's pairs; {@code -Dpgferry.matrix=true} runs every ordered pair of 14..18. */
    static Stream<Arguments> pairs() {
        if (Boolean.getBoolean("pgferry.matrix")) {
            return IntStream.rangeClosed(14, 18).boxed()
                    .flatMap(s -> IntStream.rangeClosed(s, 18).mapToObj(t -> Arguments.of(s, t)));
        }
        return Stream.of(Arguments.of(14, 14), Arguments.of(14, 18), Arguments.of(15, 16), Arguments.of(16, 17),
                Arguments.of(17, 18), Arguments.of(18, 18));
    }

    @ParameterizedTest(name = "PostgreSQL {0} -> {1}")
    @MethodSource("pairs")
    void migratesAndRerunsUnchanged(int sourceMajor, int targetMajor, @TempDir Path dir) throws Exception {
        String suffix = UUID.randomUUID().toString().substring(0, 8);
        // Containers when the container test bed is on (the target's server then reaches the source's by name over
        // a Docker network), pgbed clusters on loopback otherwise.
        PgCluster src = ContainerBed.server("e2e-src-" + suffix, sourceMajor);
        PgCluster dst = ContainerBed.server("e2e-dst-" + suffix, targetMajor);
        try (AgentHandle source = AgentHandle.start(src, dir.resolve("source"));
             AgentHandle target = AgentHandle.start(dst, dir.resolve("target"))) {
            Checksums.execute(src, "postgres", "CREATE DATABASE app");
            Checksums.execute(src, "app", Files.readString(PgBedTool.repoRoot().resolve("fixtures/basic.sql")));
            String password = "repl pässword 'with' \"quotes\" \\ " + suffix;
            MigrationFlow flow = new MigrationFlow("pairs", "app", src, source, target, password,
                    Map.of("exclude_schemas", EXCLUDED));

            flow.run();
            // Writes after the copy: insert, update, delete.
            Checksums.execute(src, "app", """
                    INSERT INTO included.customers (name, email) VALUES ('late', 'late@example.org');
                    UPDATE included.orders SET amount = amount + 1 WHERE id % 10 = 0;
                    DELETE FROM included.orders WHERE id % 7 = 0;""");
            flow.awaitCaughtUp();
            awaitEqual(src, dst);

            assertEquals(0, Checksums.count(dst, "app",
                    "SELECT count(*) FROM pg_namespace WHERE nspname = 'excluded'"), "excluded schema moved");
            assertEquals(1, Checksums.count(dst, "app",
                    "SELECT count(*) FROM pg_indexes WHERE indexname = 'customers_name_idx'"), "secondary index");
            assertEquals(1, Checksums.count(dst, "app",
                    "SELECT count(*) FROM pg_constraint WHERE conname = 'orders_customer_id_fkey'"), "foreign key");

            MigrationFlow.assertNothingChanged(flow.run());
            assertEquals(1, Checksums.count(src, "app", "SELECT count(*) FROM pg_publication"));
            assertEquals(1, Checksums.count(src, "app", "SELECT count(*) FROM pg_replication_slots"));
            assertEquals(1, Checksums.count(dst, "app", "SELECT count(*) FROM pg_subscription"));
            for (String body : source.bodies()) {
                assertFalse(body.contains(password), "the replication password came back from the source agent");
            }
            for (String body : target.bodies()) {
                assertFalse(body.contains(password), "the replication password came back from the target agent");
            }
            Checksums.execute(dst, "app", "DROP SUBSCRIPTION pgferry_pairs");
        } finally {
            src.destroy();
            dst.destroy();
        }
    }

    static void awaitEqual(PgCluster src, PgCluster dst) throws Exception {
        Instant deadline = Instant.now().plus(Duration.ofSeconds(30));
        Map<String, String> a = Checksums.of(src, "app", EXCLUDED);
        Map<String, String> b = Checksums.of(dst, "app", EXCLUDED);
        while (!a.equals(b) && Instant.now().isBefore(deadline)) {
            Thread.sleep(250);
            a = Checksums.of(src, "app", EXCLUDED);
            b = Checksums.of(dst, "app", EXCLUDED);
        }
        assertEquals(a, b, "row counts and checksums per table");
    }
}
