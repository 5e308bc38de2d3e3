package io.pgferry.agent.jobs;

import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.pgferry.agent.http.Access;
import io.pgferry.agent.http.RouteGroup;
import io.pgferry.agent.problem.BadRequestException;
import java.util.Map;

/** {@code GET /v1/jobs/{id}}, and how every long step answers its POST. */
public final class JobsController implements RouteGroup {
    /** Longest {@code ?wait=} accepted: below common HTTP client and proxy timeouts. */
    static final int MAX_WAIT_SECONDS = 300;

    private final JobRunner runner;

    public JobsController(JobRunner runner) {
        this.runner = runner;
    }

    @Override
    public void register(RoutesConfig routes) {
        routes.get("/v1/jobs/{id}", this::get, Access.READ);
    }

    /**
     * {@code GET /v1/jobs/{id}}: a job's state, progress, and its result or error once finished. Optional
     * {@code ?wait=N} (0-300 s) blocks until the job ends or N seconds pass.
     * <ul>
     *   <li>200: the job, as {@link JobView}</li>
     *   <li>400 {@code invalid_request}: {@code wait} is not an integer from 0 to 300</li>
     *   <li>401 {@code unauthorized}: missing or wrong bearer token</li>
     *   <li>404 {@code job_not_found}: no such job (never started, or forgotten: the agent restarted or it was
     *       one of the oldest finished jobs)</li>
     *   <li>500 {@code internal_error}: a bug in the agent</li>
     * </ul>
     */
    void get(Context ctx) throws InterruptedException {
        ctx.json(runner.await(ctx.pathParam("id"), waitSeconds(ctx)));
    }

    /**
     * Answers a long step's POST with its job: 202 while it runs, 200 once it has finished within the request's
     * {@code ?wait=N} seconds.
     */
    public static void respond(Context ctx, JobRunner runner, JobView started) throws InterruptedException {
        JobView job = runner.await(started.id(), waitSeconds(ctx));
        ctx.header("Location", "/v1/jobs/" + job.id());
        ctx.status(job.state() == JobState.RUNNING ? 202 : 200).json(Map.of("job", job));
    }

    /** @throws BadRequestException when {@code wait} is not an integer from 0 to 300 */
    public static int waitSeconds(Context ctx) {
        String raw = ctx.queryParam("wait");
        if (raw == null || raw.isEmpty()) {
            return 0;
        }
        try {
            int n = Integer.parseInt(raw);
            if (n >= 0 && n <= MAX_WAIT_SECONDS) {
                return n;
            }
        } catch (NumberFormatException e) {
            // answered below
        }
        throw new BadRequestException("wait", "wait must be a whole number of seconds from 0 to "
                + MAX_WAIT_SECONDS);
    }
}
