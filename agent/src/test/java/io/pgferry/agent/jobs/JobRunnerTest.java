package io.pgferry.agent.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgferry.agent.http.ProblemMapper;
import io.pgferry.agent.migration.MigrationId;
import io.pgferry.agent.problem.ApiException;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

/** The runner's own rules, with work that blocks on a latch so "running" is certain. */
class JobRunnerTest {
    private static final MigrationId M = new MigrationId("m1");

    @Test
    void sameRequestReattachesAndOthersAreRefusedUntilTheJobEnds() throws Exception {
        try (JobRunner runner = new JobRunner(ProblemMapper::known)) {
            CountDownLatch release = new CountDownLatch(1);
            JobView first = runner.submit("post-data", M, List.of("db"), p -> {
                p.report(1, 2, "waiting");
                release.await();
                return "done";
            });
            assertEquals("post-data:m1", first.id());
            JobView again = runner.submit("post-data", M, List.of("db"), p -> "never runs");
            assertEquals(first.startedAt(), again.startedAt());
            ApiException other = assertThrows(ApiException.class,
                    () -> runner.submit("schema-apply", M, List.of("db"), p -> null));
            assertEquals(409, other.status());
            assertEquals("operation_in_progress", other.code());
            assertEquals(List.of("post-data:m1"), other.objects());
            assertEquals(409, assertThrows(ApiException.class,
                    () -> runner.submit("post-data", M, List.of("other db"), p -> null)).status());
            // A step asks before its own checks: another job refuses it as submit would, its own job does not.
            ApiException early = assertThrows(ApiException.class,
                    () -> runner.refuseIfBusy("schema-apply", new MigrationId("m2")));
            assertEquals(List.of(409, "operation_in_progress", List.of("post-data:m1")),
                    List.of(early.status(), early.code(), early.objects()));
            runner.refuseIfBusy("post-data", M);

            release.countDown();
            JobView done = runner.await(first.id(), 10);
            assertEquals(JobState.SUCCEEDED, done.state());
            assertEquals("done", done.result());
            assertTrue(done.finishedAt() != null);
            runner.refuseIfBusy("schema-apply", new MigrationId("m2"));

            JobView failed = runner.await(runner.submit("schema-apply", M, List.of("db"), p -> {
                throw ApiException.unprocessable("target_schema_partial", "partial", List.of("t"));
            }).id(), 10);
            assertEquals(JobState.FAILED, failed.state());
            assertEquals("target_schema_partial", failed.error().code());
            assertEquals(422, failed.error().status());
        }
    }

    @Test
    void onlyTheLastFinishedJobsAreKept() throws Exception {
        try (JobRunner runner = new JobRunner(ProblemMapper::known)) {
            for (int i = 0; i < JobRunner.KEEP_FINISHED + 4; i++) {
                runner.await(runner.submit("post-data", new MigrationId("m" + i), i, p -> null).id(), 10);
            }
            assertTrue(runner.find("post-data:m0").isEmpty());
            assertTrue(runner.find("post-data:m" + (JobRunner.KEEP_FINISHED + 3)).isPresent());
            assertEquals(404, assertThrows(ApiException.class, () -> runner.await("post-data:m0", 0)).status());
        }
    }
}
