package io.spillway.chaos;

import io.grpc.Status;

/**
 * An attempt the federation must refuse while the load runs (an open without a credential, or under
 * another tenant's token), and what it answered.
 *
 * @param attempt what was tried
 * @param expected the status it must be refused with
 * @param answer what came back: the status and description, or that a session was opened
 * @param refused true when it was refused with {@code expected}
 * @param correctDuring correct answers the load got while the attempt ran
 */
record Refusal(String attempt, Status.Code expected, String answer, boolean refused, long correctDuring) {}
