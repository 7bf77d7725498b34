/**
 * GET /sale and GET /sale/{file}: the live sale page (api.md, "GET /sale"), its script and styles
 * and uPlot's, all served by the API itself, so the page works without any CDN. The files are
 * bundled into the function as text (esbuild's text loader).
 */

import uplotJs from 'uplot/dist/uPlot.iife.min.js';
import uplotCss from 'uplot/dist/uPlot.min.css';
import { httpHandler } from '../lib/http/handler';
import { asset, json } from '../lib/http/response';
import appCss from '../lib/sale-page/app.css';
import appJs from '../lib/sale-page/app.page-script.js';
import page from '../lib/sale-page/index.html';

const FILES: Record<string, { type: string; body: string }> = {
  'app.js': { type: 'text/javascript; charset=utf-8', body: appJs },
  'app.css': { type: 'text/css; charset=utf-8', body: appCss },
  'uplot.js': { type: 'text/javascript; charset=utf-8', body: uplotJs },
  'uplot.css': { type: 'text/css; charset=utf-8', body: uplotCss },
};

export const handler = httpHandler(async (event) => {
  const file = event.pathParameters?.file;
  if (file === undefined) return asset('text/html; charset=utf-8', page, 'no-cache');
  const found = Object.hasOwn(FILES, file) ? FILES[file] : undefined;
  return found ? asset(found.type, found.body, 'max-age=300') : json(404, { errMsg: 'Not Found.' });
});
