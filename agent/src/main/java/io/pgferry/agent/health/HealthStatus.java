package io.pgferry.agent.health;

/** Body of a healthy /v1/health answer; an unhealthy one is a problem document instead. */
public record HealthStatus(String status, String postgres, String serverVersion) {
}
