package io.pgferry.agent.http;

import io.pgferry.agent.json.Json;
import io.pgferry.agent.problem.Problem;
import java.nio.ByteBuffer;
import java.nio.charset.Charset;
import java.util.List;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;

/**
 * Jetty's own refusals (a URI with an encoded NUL or an ambiguous separator, a malformed header), which happen before
 * any route sees the request, answered like every other error: a problem document, never an HTML page.
 */
final class ProblemErrorHandler extends ErrorHandler {
    @Override
    protected boolean generateAcceptableResponse(Request request, Response response, Callback callback,
                                                 String contentType, List<Charset> charsets, int code, String message,
                                                 Throwable cause) {
        String title = HttpStatus.getMessage(code);
        String detail = code == 400
                ? "the request's URI or headers are malformed (" + (message == null ? title : message)
                        + "); send a well-formed request"
                : title;
        Problem problem = Problem.of(code, ProblemMapper.codeFor(title), title, detail);
        try {
            byte[] body = Json.MAPPER.writeValueAsBytes(problem);
            response.getHeaders().put(HttpHeader.CONTENT_TYPE, ProblemMapper.PROBLEM_JSON);
            response.write(true, ByteBuffer.wrap(body), callback);
            return true;
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            return false;
        }
    }
}
