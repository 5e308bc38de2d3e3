package io.pgferry.agent.jobs;

/** How far a job is: {@code done} of {@code total} units of its step, and what it is doing now. */
public record Progress(int done, int total, String message) {
}
