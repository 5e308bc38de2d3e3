package io.pgferry.agent.jobs;

import io.pgferry.agent.problem.Problem;
/**
 * A job as clients see it ({@code GET /v1/jobs/{id}} and the {@code job} of a long step's answer).
 *
 * @param startedAt ISO-8601 UTC
 * @param result the step's result once succeeded, null before
 * @param error the problem the step failed with, null unless failed
 */
public record JobView(String id, String step, String migration, JobState state, String startedAt,
                      String finishedAt, Progress progress, Object result, Problem error) {
}
