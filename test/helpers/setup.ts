/**
 * Loaded by ava in every worker before its test file (package.json, `ava.require`): tests reach
 * loopback only, whatever file they are in.
 */
import { denyNetwork } from './network.ts';

denyNetwork(process.env);
