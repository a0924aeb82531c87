import { resolveTestNamesEverywhere } from './names.js';

resolveTestNamesEverywhere();
