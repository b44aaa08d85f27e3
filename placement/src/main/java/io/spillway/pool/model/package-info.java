/** Values shared by the registry and placement: what a GPU is, and what names a session. */
package io.spillway.pool.model;
