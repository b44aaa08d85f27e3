/** What a simulation reports: a Markdown table, PNG line charts (Java2D, headless), per-card samples as CSV. */
package io.spillway.simulator.report;
