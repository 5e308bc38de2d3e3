package io.pgferry.agent.jobs;

import io.pgferry.agent.migration.MigrationId;
import io.pgferry.agent.problem.ApiException;
import io.pgferry.agent.problem.Problem;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Consumer;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the agent's long steps, one at a time: two restores into the same server at once would compete for
 * locks and I/O and make failures hard to read. Jobs run on the agent's own thread, so a client that
 * disconnects or times out does not stop them; it polls {@code GET /v1/jobs/{id}} or repeats its call.
 */
public final class JobRunner implements AutoCloseable {
    /** Finished jobs kept for polling; enough for one migration's steps and a few reruns. */
    static final int KEEP_FINISHED = 16;
    private static final Logger LOG = LoggerFactory.getLogger(JobRunner.class);

    private final ExecutorService executor = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "agent-job");
        t.setDaemon(true);
        return t;
    });
    /** The job the current thread runs: its tools name their sessions after it (postgres.PgProcess). */
    private static final ThreadLocal<String> CURRENT = new ThreadLocal<>();
    /** How long a shutdown waits for the running job to unwind (its tools stopped, its temporary files removed). */
    private static final int CLOSE_WAIT_SECONDS = 30;

    private final Map<String, Job> jobs = new LinkedHashMap<>();
    /**
     * The problem a failure the agent knows is reported with (http.ProblemMapper, the one place that turns
     * exceptions into problems); empty for anything else, which fails the job as an internal error.
     */
    private final Function<Throwable, Optional<Problem>> explain;
    /** Told of every job that ends (metrics); must not throw. */
    private final Consumer<JobView> onFinish;
    private Job running;

    /** The id of the job running on this thread, if any. */
    public static Optional<String> currentJob() {
        return Optional.ofNullable(CURRENT.get());
    }

    public JobRunner(Function<Throwable, Optional<Problem>> explain) {
        this(explain, job -> { });
    }

    public JobRunner(Function<Throwable, Optional<Problem>> explain, Consumer<JobView> onFinish) {
        this.explain = explain;
        this.onFinish = onFinish;
    }

    /** The problem a job failing with {@code e} reports, if the agent knows {@code e}. */
    public Optional<Problem> explain(Throwable e) {
        return explain.apply(e);
    }

    /** The id of a step's job: derived, so a retry of the same step finds its job. */
    public static String jobId(String step, MigrationId migration) {
        return step + ":" + migration.value();
    }

    /**
     * Starts {@code work} as the job {@code step:migration}, or returns the running job when the same request
     * is made again (a client retrying after a lost connection).
     *
     * @param request the parsed request; a running job of the same id with a different request is a conflict
     * @throws ApiException 409 {@code operation_in_progress} when another job runs
     */
    public synchronized JobView submit(String step, MigrationId migration, Object request, JobWork work) {
        String id = jobId(step, migration);
        if (running != null && running.running()) {
            if (running.id().equals(id) && running.request().equals(request)) {
                return running.view();
            }
            throw busy(id);
        }
        Job job = new Job(id, step, migration.value(), request);
        jobs.remove(id);
        jobs.put(id, job);
        trim();
        running = job;
        executor.execute(() -> {
            try {
                execute(job, work);
            } finally {
                onFinish.accept(job.view());
            }
        });
        return job.view();
    }

    /**
     * Refuses at once, as {@link #submit} would, a step whose job cannot start because another job runs. Steps call it
     * before what they check ahead of {@code submit} (the archive read and verified, the catalogs planned): a fleet's
     * steps queued behind another migration's job would otherwise repeat that work for every refused attempt.
     */
    public synchronized void refuseIfBusy(String step, MigrationId migration) {
        String id = jobId(step, migration);
        if (running != null && running.running() && !running.id().equals(id)) {
            throw busy(id);
        }
    }

    private ApiException busy(String id) {
        return ApiException.conflict("operation_in_progress", "the agent is running job " + running.id()
                + (running.id().equals(id) ? " with other parameters" : "")
                + "; wait for it (GET /v1/jobs/" + running.id() + ") and retry", List.of(running.id()));
    }

    /** Every job kept for polling, running or ended, oldest first. */
    public synchronized List<JobView> views() {
        return jobs.values().stream().map(Job::view).toList();
    }

    public synchronized Optional<JobView> find(String id) {
        return Optional.ofNullable(jobs.get(id)).map(Job::view);
    }

    /** Waits up to {@code seconds} for job {@code id} to end and returns its latest view. */
    public JobView await(String id, int seconds) throws InterruptedException {
        Job job;
        synchronized (this) {
            job = jobs.get(id);
        }
        if (job == null) {
            throw ApiException.notFound("job_not_found", "no job " + id + " on this agent");
        }
        if (seconds > 0) {
            job.await(seconds);
        }
        return job.view();
    }

    private void execute(Job job, JobWork work) {
        CURRENT.set(job.id());
        try {
            job.succeed(work.run(job));
            LOG.info("job {} succeeded", job.id());
        } catch (Exception | Error e) {
            Optional<Problem> known = explain.apply(e);
            if (known.isPresent()) {
                LOG.warn("job {} failed: {} {}", job.id(), known.get().code(), known.get().detail());
                job.fail(known.get());
            } else {
                // The stack goes to the log only: driver and tool messages must not reach clients. An Error fails
                // the job too, or it would stay "running" and block every later job.
                LOG.error("job {} failed", job.id(), e);
                job.fail(Problem.of(500, "internal_error", "Internal Server Error",
                        "job " + job.id() + " failed; see the agent's log"));
                if (e instanceof Error err) {
                    throw err;
                }
            }
        } finally {
            CURRENT.remove();
        }
    }

    private void trim() {
        var it = jobs.entrySet().iterator();
        while (jobs.size() > KEEP_FINISHED && it.hasNext()) {
            if (!it.next().getValue().running()) {
                it.remove();
            }
        }
    }

    /**
     * Interrupts the running job and waits for it to unwind: its tools are stopped (PgProcess) and its finally blocks
     * remove their temporary files before the JVM exits.
     */
    @Override
    public void close() {
        executor.shutdownNow();
        try {
            if (!executor.awaitTermination(CLOSE_WAIT_SECONDS, java.util.concurrent.TimeUnit.SECONDS)) {
                LOG.warn("the running job did not stop within {} s", CLOSE_WAIT_SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
