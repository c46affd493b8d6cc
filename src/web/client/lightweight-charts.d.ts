// Types of the charting library the server serves beside these modules as /assets/<hash>/lightweight-charts.js
// (its standalone production build from node_modules; see src/web/routes.ts). No code is emitted for this file.
export * from 'lightweight-charts';
