#!/usr/bin/env node
import { main } from './process.js';
void main();
