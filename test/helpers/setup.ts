/**
 * Loaded by ava in every worker before its test file (package.json, `ava.require`): tests reach
 * loopback only, whatever file they are in, and find it without waiting for the system resolver.
 */
import { answerLoopbackNames, denyNetwork } from './network.ts';

answerLoopbackNames();
denyNetwork(process.env);
