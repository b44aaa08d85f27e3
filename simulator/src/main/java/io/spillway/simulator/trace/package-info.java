/** Traces of sessions: the record, the CSV format for operators' own logs, and a seeded generator. */
package io.spillway.simulator.trace;
