export { httpRequest, type HttpRequest, type HttpResponse } from './http.js';
