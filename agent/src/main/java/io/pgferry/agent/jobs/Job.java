package io.pgferry.agent.jobs;

import io.pgferry.agent.problem.Problem;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** One run of a long step. Mutable, but only through synchronized methods; clients see {@link JobView}s. */
final class Job implements ProgressSink {
    private final String id;
    private final String step;
    private final String migration;
    /** The request that started the job, so a different request for the same step is not mistaken for a retry. */
    private final Object request;
    private final Instant startedAt = Instant.now();
    private final CompletableFuture<Void> done = new CompletableFuture<>();
    private JobState state = JobState.RUNNING;
    private Instant finishedAt;
    private Progress progress = new Progress(0, 0, "queued");
    private Object result;
    private Problem error;

    Job(String id, String step, String migration, Object request) {
        this.id = id;
        this.step = step;
        this.migration = migration;
        this.request = request;
    }

    String id() {
        return id;
    }

    Object request() {
        return request;
    }

    @Override
    public synchronized void report(int doneUnits, int total, String message) {
        progress = new Progress(doneUnits, total, message);
    }

    synchronized void succeed(Object value) {
        result = value;
        finish(JobState.SUCCEEDED);
    }

    synchronized void fail(Problem problem) {
        error = problem;
        finish(JobState.FAILED);
    }

    private void finish(JobState end) {
        state = end;
        finishedAt = Instant.now();
        done.complete(null);
    }

    synchronized boolean running() {
        return state == JobState.RUNNING;
    }

    /** Waits up to {@code seconds} for the job to finish; returns whether it has. */
    boolean await(int seconds) throws InterruptedException {
        try {
            done.get(seconds, TimeUnit.SECONDS);
            return true;
        } catch (TimeoutException e) {
            return false;
        } catch (java.util.concurrent.ExecutionException e) {
            return true;
        }
    }

    synchronized JobView view() {
        return new JobView(id, step, migration, state, startedAt.toString(),
                finishedAt == null ? null : finishedAt.toString(), progress, result, error);
    }
}
