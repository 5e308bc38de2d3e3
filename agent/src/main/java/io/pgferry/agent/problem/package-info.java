/**
 * How the agent refuses: the exceptions a step throws with their HTTP status and stable code ({@link
 * io.pgferry.agent.problem.ApiException}, {@link io.pgferry.agent.problem.BadRequestException}), and the problem
 * document ({@link io.pgferry.agent.problem.Problem}) a request or a job is answered with. Below the HTTP layer, so
 * the steps and the kernel can refuse without knowing it; {@code http.ProblemMapper} is the one place that turns
 * exceptions into problems (docs/errors.md lists the codes).
 */
package io.pgferry.agent.problem;
