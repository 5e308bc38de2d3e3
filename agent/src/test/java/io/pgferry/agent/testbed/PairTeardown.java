package io.pgferry.agent.testbed;

import static org.junit.jupiter.api.Assertions.assertFalse;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * The end of a test class that ran a source and a target agent on two clusters: no answer either agent gave held the
 * replication password, then agents closed, clusters destroyed (kept with PGFERRY_KEEP_CLUSTERS) and the work
 * directory removed. Any of them may be null: a start that failed half-way is torn down as far as it got.
 */
public final class PairTeardown {
    private PairTeardown() {
    }

    public static void tearDown(String password, Path dir, AgentHandle[] agents, PgCluster[] clusters)
            throws Exception {
        for (AgentHandle a : agents) {
            if (a != null) {
                for (String body : a.bodies()) {
                    assertFalse(body.contains(password), "the replication password leaked: " + body);
                }
                a.close();
            }
        }
        for (PgCluster c : clusters) {
            if (c != null && System.getenv("PGFERRY_KEEP_CLUSTERS") == null) {
                c.destroy();
            }
        }
        if (dir != null) {
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }
}
