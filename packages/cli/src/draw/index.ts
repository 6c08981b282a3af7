/** Pictures of a set: its layout and maps of marked ranges, as SVG or an HTML page around it. */
export { traceLayout, columnName, type Cell, type CellRole, type Column, type DrawTable, type LayoutGrid } from './layout.js';
export { bucketRect, bucketsOf, COLOURS, drawHtml, drawSvg, esc, layoutGeometry, MAP_BUCKETS, pictureGeometry, type LayoutGeometry, type Picture, type MarkedRange, type RangeBar, type Rect } from './svg.js';
